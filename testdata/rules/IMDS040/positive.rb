require 'azure_mgmt_compute'

def msi_extension(location)
  ext = Azure::Compute::Profiles::Latest::Mgmt::Models::VirtualMachineExtension.new
  ext.location = location
  ext.publisher = 'Microsoft.ManagedIdentity'
  ext.virtual_machine_extension_type = 'ManagedIdentityExtensionForLinux'
  ext.type_handler_version = '1.0'
  ext.settings = { 'port' => 50342 }
  ext
end
