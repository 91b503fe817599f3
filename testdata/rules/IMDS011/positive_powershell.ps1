$publisher = "Microsoft.ManagedIdentity"
foreach ($vm in $vms) {
    az vm extension set `
        --resource-group $rg `
        --vm-name $vm `
        --name ManagedIdentityExtensionForWindows `
        --publisher $publisher `
        --settings '{\"port\": 50342}'
}
