"""Create the provider's tables, people and the app's client: `python -m tests.oidc_provider.seed`.

Environment: as settings.py, plus OIDC_TEST_CLIENT (JSON: client_id, client_secret, redirect_uri,
post_logout_redirect_uri) and OIDC_TEST_PASSWORD (every person's password).
"""

import json
import os

import django


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.oidc_provider.settings")
    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from oauth2_provider.models import Application

    call_command("migrate", verbosity=0)
    for username in settings.OIDC_TEST_CLAIMS:
        User.objects.create_user(username=username, password=os.environ["OIDC_TEST_PASSWORD"])
    client = json.loads(os.environ["OIDC_TEST_CLIENT"])
    Application.objects.create(
        name="Right-Speed Portfolio",
        client_id=client["client_id"],
        client_secret=client["client_secret"],
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=client["redirect_uri"],
        post_logout_redirect_uris=client["post_logout_redirect_uri"],
        algorithm=Application.RS256_ALGORITHM,
        skip_authorization=False,  # the consent page is part of the journey the test walks
    )


if __name__ == "__main__":
    main()
