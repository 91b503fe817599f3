# MSIAuthentication() used to call the extension; this module uses azure-identity.
from azure.identity import ManagedIdentityCredential


class MSIAuthenticationAdapter(object):
    """Wraps ManagedIdentityCredential; replaces MSIAuthentication()."""

    def __init__(self):
        self.credential = ManagedIdentityCredential()
