#!/bin/bash
# Writes a helper onto the VM through the custom script extension.
cat > /usr/local/bin/vm-token <<'HELPER'
#!/bin/sh
resource="${1:-https://management.azure.com/}"
curl -s http://localhost:50342/oauth2/token \
  --data "resource=https://storage.azure.com/"
HELPER
chmod 0755 /usr/local/bin/vm-token
