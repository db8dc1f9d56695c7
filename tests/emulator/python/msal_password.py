"""Sign a user in with a password (ROPC) against the sandbox tenant with MSAL
for Python, then take the token again from the cache and renew it.

Settings: SANDBOX_AUTHORITY, SANDBOX_CLIENT_ID (a public client),
SANDBOX_SCOPES, SANDBOX_USERNAME, SANDBOX_PASSWORD, REQUESTS_CA_BUNDLE.
"""

from sandbox_env import public_client, report, setting, silently_again, skip_msal_user_realm_probe


def main() -> None:
    skip_msal_user_realm_probe()
    app = public_client()
    scopes = setting("SANDBOX_SCOPES").split()
    signed_in = app.acquire_token_by_username_password(
        setting("SANDBOX_USERNAME"), setting("SANDBOX_PASSWORD"), scopes=scopes
    )
    report(silently_again(app, scopes, signed_in), "access_token" in signed_in)


if __name__ == "__main__":
    main()
