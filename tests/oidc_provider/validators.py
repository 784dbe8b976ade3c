"""The provider's claims: name, e-mail, and the roles and side the app maps (OIDC_TEST_CLAIMS)."""

from django.conf import settings
from oauth2_provider.oauth2_validators import OAuth2Validator


class ClaimsValidator(OAuth2Validator):
    # Custom claims go with the `openid` scope (a claim missing from this table is never sent).
    oidc_claim_scope = {**OAuth2Validator.oidc_claim_scope, "roles": "openid", "side": "openid"}

    def get_additional_claims(self, request):
        user = request.user
        person = settings.OIDC_TEST_CLAIMS.get(user.username, {})
        claims = {
            "preferred_username": user.username,
            "name": person.get("name", user.username),
            "email": person.get("email", f"{user.username}@example.com"),
            "roles": person.get("roles", []),
        }
        if "side" in person:
            claims["side"] = person["side"]
        return claims
