#!/bin/bash
# Writes the Azure credential used by the pipelines.
mkdir -p /var/lib/jenkins
cat > /var/lib/jenkins/credentials.xml <<EOF
<com.cloudbees.plugins.credentials.SystemCredentialsProvider>
  <domainCredentialsMap class="hudson.util.CopyOnWriteMap\$Hash">
    <entry>
      <java.util.concurrent.CopyOnWriteArrayList>
        <com.microsoft.azure.util.AzureMsiCredentials>
          <id>azure_msi</id>
          <msiPort>${MSI_PORT:-50342}</msiPort>
        </com.microsoft.azure.util.AzureMsiCredentials>
      </java.util.concurrent.CopyOnWriteArrayList>
    </entry>
  </domainCredentialsMap>
</com.cloudbees.plugins.credentials.SystemCredentialsProvider>
EOF
sed -i 's#<msiPort>.*</msiPort>#<msiPort>50342</msiPort>#' /var/lib/jenkins/credentials.xml
systemctl restart jenkins
