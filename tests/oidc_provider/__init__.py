"""A real OpenID Connect provider for the single sign-on tests: a second, tiny Django project.

django-oauth-toolkit in OIDC mode (discovery, authorization code with PKCE, RS256 ID tokens, userinfo,
RP-initiated logout). `tests/sso/conftest.py` starts it as its own process on a free port with its
own SQLite file; the people it knows and their claims come from the environment (see settings.py).
"""
