"""Sign in with the authorization code flow against the sandbox tenant with
MSAL for Python (it makes the request: PKCE S256, state, nonce), then take the
token again from MSAL's cache and renew it with the refresh token.

Settings: SANDBOX_AUTHORITY, SANDBOX_CLIENT_ID (a public client),
SANDBOX_SCOPES (space-separated), SANDBOX_REDIRECT_URI (http://localhost:PORT)
and REQUESTS_CA_BUNDLE (the sandbox's CA). The sandbox approves the sign-in
by itself.
"""

import urllib.parse

import requests

from sandbox_env import public_client, report, setting, silently_again


def query_of(url: str) -> dict:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


def main() -> None:
    app = public_client()
    scopes = setting("SANDBOX_SCOPES").split()
    flow = app.initiate_auth_code_flow(scopes, redirect_uri=setting("SANDBOX_REDIRECT_URI"))
    # The browser's part. The sandbox answers with a redirect to the loopback
    # address; nothing listens there: its query is what a listener would read.
    answer = requests.get(
        flow["auth_uri"],
        allow_redirects=False,
        verify=setting("REQUESTS_CA_BUNDLE"),
        timeout=30,
    )
    location = answer.headers.get("Location", "")
    signed_in = app.acquire_token_by_auth_code_flow(flow, query_of(location))
    result = silently_again(app, scopes, signed_in)
    result["redirected_to"] = location.split("?")[0]
    result["code_challenge_method"] = query_of(flow["auth_uri"]).get("code_challenge_method")
    report(result, "access_token" in signed_in)


if __name__ == "__main__":
    main()
