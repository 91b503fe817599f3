import com.microsoft.azure.management.compute.VirtualMachine;

class EnableMsi {
    static void enable(VirtualMachine vm) {
        vm.update()
            .defineNewExtension("ManagedIdentityExtensionForLinux")
                .withPublisher("Microsoft.ManagedIdentity")
                .withType("ManagedIdentityExtensionForLinux")
                .withVersion("1.0")
                .withPublicSetting("port", 50342)
                .attach()
            .apply();
    }
}
