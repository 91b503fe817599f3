#!/bin/bash
# Registers the VM's identity with the Jenkins Azure credentials plugin
JENKINS_HOME=/var/lib/jenkins
TOKEN_PORT=${MSI_PORT:-50342}
cat > "$JENKINS_HOME/credentials.xml" <<XML
<com.microsoft.azure.util.AzureMsiCredentials>
  <scope>GLOBAL</scope>
  <id>vm-identity</id>
  <msiPort>50342</msiPort>
</com.microsoft.azure.util.AzureMsiCredentials>
XML
