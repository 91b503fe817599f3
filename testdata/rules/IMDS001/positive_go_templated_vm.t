  {
    "type": "Microsoft.Compute/virtualMachines",
    "apiVersion": "2018-06-01",
    "name": "[concat(variables('{{.Name}}VMNamePrefix'), copyIndex())]",
    "copy": { "name": "{{.Name}}vmLoop", "count": "[variables('{{.Name}}Count')]" },
    "properties": {}
  },
  {
    "type": "Microsoft.Compute/virtualMachines/extensions",
    "apiVersion": "2018-06-01",
    "name": "[concat(variables('{{.Name}}VMNamePrefix'), copyIndex(), '/identityAgent')]",
    "copy": { "name": "{{.Name}}identityLoop", "count": "[variables('{{.Name}}Count')]" },
    "dependsOn": [
      "[concat('Microsoft.Compute/virtualMachines/', variables('{{.Name}}VMNamePrefix'), copyIndex())]"
    ],
    "properties": {
      "publisher": "Microsoft.ManagedIdentity",
      {{if IsWindows}}
      "type": "ManagedIdentityExtensionForWindows",
      {{else}}
      "type": "ManagedIdentityExtensionForLinux",
      {{end}}
      "typeHandlerVersion": "1.0",
      "settings": { "port": 50342 }
    }
  }
