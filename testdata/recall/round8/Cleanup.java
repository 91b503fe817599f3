/** Removes the Microsoft.ManagedIdentity / ManagedIdentityExtensionForLinux extension. */
class Cleanup {
    static final String MESSAGE = "ManagedIdentityExtensionForLinux (Microsoft.ManagedIdentity) is retired";
}
