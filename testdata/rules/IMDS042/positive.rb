require 'ms_rest_azure'

settings = MsRestAzure::ActiveDirectoryServiceSettings.get_azure_settings
provider = MsRestAzure::MSITokenProvider.new(50342, settings)
credentials = MsRest::TokenCredentials.new(provider)
