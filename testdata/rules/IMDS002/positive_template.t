{{if UseManagedIdentity}}
  {
    "type": "Microsoft.Authorization/roleAssignments",
    "name": "[guid(variables('{{.Name}}ScaleSet'))]",
    "properties": { "roleDefinitionId": "[variables('readerRole')]" }
  },
{{end}}
  {
    "type": "Microsoft.Compute/virtualMachineScaleSets",
    "name": "[variables('{{.Name}}ScaleSet')]",
    {{if UseManagedIdentity}}
    "identity": { "type": "systemAssigned" },
    {{end}}
    "properties": {
      "overprovision": {{IsOverprovisioned .}},
      "virtualMachineProfile": {
        "storageProfile": {
          "imageReference": {
            {{if UseCustomImage .}}
            "id": "[variables('{{.Name}}ImageId')]"
            {{else}}
            "offer": "[variables('{{.Name}}Offer')]",
            "sku": "[variables('{{.Name}}Sku')]"
            {{end}}
          }
        },
        "extensionProfile": {
          "extensions": [
            {
              "name": "bootstrap",
              "properties": {
                "publisher": "Microsoft.Azure.Extensions",
                "type": "CustomScript",
                "typeHandlerVersion": "2.0",
                "settings": {}
              }
            }
            {{if UseManagedIdentity}}
            ,{
              "name": "identityAgent",
              "properties": {
                "publisher": "Microsoft.ManagedIdentity",
                "type": "ManagedIdentityExtensionForLinux",
                "typeHandlerVersion": "1.0",
                "settings": {
                  "port": 50343
                }
              }
            }
            {{end}}
          ]
        }
      }
    }
  }
