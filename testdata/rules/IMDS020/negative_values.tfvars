location             = "westeurope"
identity_type        = "SystemAssigned"
use_managed_identity = true
note                 = "ManagedIdentity via IMDS, no VM extension"
