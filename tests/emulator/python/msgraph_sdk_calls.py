"""Drive the sandbox's Graph with the Microsoft Graph SDK for Python
(msgraph-sdk), signed in as a user through azure-identity: create an
application as the SDK builds it, page through applications, read its
keyCredentials with $select, roll its key with addKey and removeKey, create
its service principal and find it by appId, grant it an app role and list
the grant from the resource's side, create, read and delete a user, and
list the signed-in user's memberships (all types, and cast to directory roles).

The SDK derives Graph's scope from the URL it calls (https://HOST:PORT/.default),
as it does in every cloud, and sends the token only to the hosts it is told.

Settings: SANDBOX_HOST, SANDBOX_GRAPH_URL, SANDBOX_TENANT_ID, SANDBOX_CLIENT_ID
(a public client), SANDBOX_USERNAME, SANDBOX_PASSWORD, SANDBOX_CERT_PEM and
SANDBOX_KEY_PEM (the application's first certificate), SANDBOX_NEXT_CERT_PEM
(the one addKey adds), SANDBOX_SYNC_APP_ID and SANDBOX_SYNC_ROLE_ID (the app
role to grant), SANDBOX_DOMAIN, REQUESTS_CA_BUNDLE and SSL_CERT_FILE.
"""

import asyncio
import base64
import time
import uuid
from urllib.parse import urlparse

import azure.identity
import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.applications.item.add_key.add_key_post_request_body import AddKeyPostRequestBody
from msgraph.generated.applications.item.application_item_request_builder import ApplicationItemRequestBuilder
from msgraph.generated.applications.item.remove_key.remove_key_post_request_body import RemoveKeyPostRequestBody
from msgraph.generated.models.app_role_assignment import AppRoleAssignment
from msgraph.generated.models.application import Application
from msgraph.generated.models.key_credential import KeyCredential
from msgraph.generated.models.password_profile import PasswordProfile
from msgraph.generated.models.service_principal import ServicePrincipal
from msgraph.generated.models.user import User

from sandbox_env import report, setting, skip_msal_user_realm_probe


def certificate(name: str) -> x509.Certificate:
    with open(setting(name), "rb") as handle:
        return x509.load_pem_x509_certificate(handle.read())


def proof(object_id: str) -> str:
    """The proof of possession addKey and removeKey ask for, signed with the
    application's current key (application-addkey on Microsoft Learn)."""
    with open(setting("SANDBOX_KEY_PEM"), encoding="ascii") as handle:
        key = handle.read()
    thumbprint = certificate("SANDBOX_CERT_PEM").fingerprint(hashes.SHA1())
    now = int(time.time())
    return jwt.encode(
        {"aud": "00000002-0000-0000-c000-000000000000", "iss": object_id, "nbf": now, "exp": now + 600},
        key,
        algorithm="RS256",
        headers={"x5t": base64.urlsafe_b64encode(thumbprint).decode().rstrip("=")},
    )


def key_credential(name: str) -> KeyCredential:
    return KeyCredential(
        type="AsymmetricX509Cert",
        usage="Verify",
        key=certificate(name).public_bytes(Encoding.DER),
        display_name="CN=msgraph-sdk",
    )


def graph_client() -> GraphServiceClient:
    skip_msal_user_realm_probe()
    credential = azure.identity.UsernamePasswordCredential(
        setting("SANDBOX_CLIENT_ID"),
        setting("SANDBOX_USERNAME"),
        setting("SANDBOX_PASSWORD"),
        tenant_id=setting("SANDBOX_TENANT_ID"),
        authority=setting("SANDBOX_HOST"),
        disable_instance_discovery=True,
    )
    host = urlparse(setting("SANDBOX_GRAPH_URL")).hostname
    adapter = GraphRequestAdapter(AzureIdentityAuthenticationProvider(credential, allowed_hosts=[host]))
    adapter.base_url = setting("SANDBOX_GRAPH_URL")
    return GraphServiceClient(request_adapter=adapter)


async def application_steps(client: GraphServiceClient, result: dict) -> ServicePrincipal:
    suffix = uuid.uuid4().hex[:12]
    created = [
        await client.applications.post(
            Application(
                display_name=f"ConnectSyncProvisioning_SDK{n}_{suffix}",
                sign_in_audience="AzureADMyOrg",
                key_credentials=[key_credential("SANDBOX_CERT_PEM")] if n == 0 else [],
                tags=["msgraph-sdk"],
            )
        )
        for n in range(3)
    ]
    app = created[0]
    result["created"] = {"id": app.id, "app_id": app.app_id, "tags": app.tags}

    # Every page, following @odata.nextLink as the SDK's callers do.
    page = await client.applications.get()
    names, pages = [], 1
    while True:
        names += [a.display_name for a in page.value]
        if not page.odata_next_link:
            break
        page = await client.applications.with_url(page.odata_next_link).get()
        pages += 1
    result["listed"] = {"pages": pages, "names": names}

    item = client.applications.by_application_id(app.id)
    select = RequestConfiguration(
        query_parameters=ApplicationItemRequestBuilder.ApplicationItemRequestBuilderGetQueryParameters(
            select=["keyCredentials"]
        )
    )
    keys = (await item.get(request_configuration=select)).key_credentials
    result["selected_key_ids"] = [str(k.key_id) for k in keys]

    added = await item.add_key.post(
        AddKeyPostRequestBody(key_credential=key_credential("SANDBOX_NEXT_CERT_PEM"), proof=proof(app.id))
    )
    result["added_key_id"] = str(added.key_id)
    await item.remove_key.post(RemoveKeyPostRequestBody(key_id=keys[0].key_id, proof=proof(app.id)))
    remaining = (await item.get(request_configuration=select)).key_credentials
    result["remaining_key_ids"] = [str(k.key_id) for k in remaining]

    principal = await client.service_principals.post(ServicePrincipal(app_id=app.app_id))
    found = await client.service_principals_with_app_id(app.app_id).get()
    result["service_principal"] = {"created": principal.id, "by_app_id": found.id}
    return principal


async def grant_steps(client: GraphServiceClient, principal: ServicePrincipal, result: dict) -> None:
    sync = await client.service_principals_with_app_id(setting("SANDBOX_SYNC_APP_ID")).get()
    granted = await client.service_principals.by_service_principal_id(principal.id).app_role_assignments.post(
        AppRoleAssignment(
            principal_id=uuid.UUID(principal.id),
            resource_id=uuid.UUID(sync.id),
            app_role_id=uuid.UUID(setting("SANDBOX_SYNC_ROLE_ID")),
        )
    )
    assigned_to = await client.service_principals.by_service_principal_id(sync.id).app_role_assigned_to.get()
    result["granted"] = {
        "id": granted.id,
        "assigned_to_principals": [str(a.principal_id) for a in assigned_to.value],
    }


async def user_steps(client: GraphServiceClient, result: dict) -> None:
    upn = f"sdk.{uuid.uuid4().hex[:8]}@{setting('SANDBOX_DOMAIN')}"
    user = await client.users.post(
        User(
            account_enabled=True,
            display_name="Created by msgraph-sdk",
            mail_nickname=upn.split("@")[0],
            user_principal_name=upn,
            password_profile=PasswordProfile(password="Sdk-Sandbox-Pass-1", force_change_password_next_sign_in=False),
        )
    )
    read = await client.users.by_user_id(user.id).get()
    await client.users.by_user_id(user.id).delete()
    result["user"] = {"created": user.user_principal_name, "read": read.user_principal_name}

    memberships = await client.me.transitive_member_of.get()
    roles = await client.me.transitive_member_of.graph_directory_role.get()
    result["memberships"] = [m.odata_type for m in memberships.value]
    result["roles"] = [r.display_name for r in roles.value]


async def main() -> None:
    client = graph_client()
    result: dict = {}
    principal = await application_steps(client, result)
    await grant_steps(client, principal, result)
    await user_steps(client, result)
    report(result, True)


if __name__ == "__main__":
    asyncio.run(main())
