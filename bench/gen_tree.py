#!/usr/bin/env python3
"""Generates a synthetic monorepo for imds-migrate's performance benchmark.

Deterministic for a given --seed and --scale: the same bytes every time. Writes, under --out:
mixed source files (ARM JSON, PowerShell, shell, Python, JavaScript, C#, Go, YAML, Markdown,
Terraform, Bicep), binaries, a few large data exports, a gitignored node_modules/ full of usages
that must not be reported, and planted usages listed in planted.json (path, line, rule) next to
the tree. Scale 1 is about 20,000 files and 400 MB.

`--profile azure` writes an Azure-heavy infrastructure repository instead (8,000 files and about
200 MB at scale 1): ARM templates, Bicep, Terraform and SDK sources where user-assigned identities,
`ManagedIdentityCredential`, AAD, IMDS and Arc token URLs are on every page and the extension is
rare (60 planted usages). `--profile fixes` writes 5,000 small files that each hold one usage with
a safe fix, for the `fix` benchmark. Every profile holds only files that imds-migrate reads too:
nothing is skipped by name, so a comparison with ripgrep over the same tree is fair.
"""
import argparse
import json
import os
import random

WORDS = ("account balance invoice ledger payment order customer refund settle batch queue "
         "worker retry timeout region tenant vault secret storage blob table metric trace span "
         "render cache shard index cursor window buffer stream packet schema record field").split()


def ident(rng):
    return rng.choice(WORDS) + rng.choice(WORDS).capitalize() + str(rng.randrange(100))


def filler_lines(rng, kind, n):
    """Lines of plausible code without any trigger literal (some look-alikes included)."""
    out = []
    for i in range(n):
        a, b = ident(rng), ident(rng)
        r = rng.random()
        if kind == "py":
            line = f"    {a} = compute_{b}({rng.randrange(1000)}, '{rng.choice(WORDS)}')" if r < 0.9 else \
                "    url = 'http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01'"
        elif kind == "js":
            line = f"  const {a} = await {b}.fetch({rng.randrange(1000)});" if r < 0.95 else \
                "  const aad = `https://login.microsoftonline.com/${tenant}/oauth2/token`;"
        elif kind == "cs":
            line = f"            var {a} = _{b}.Get{rng.choice(WORDS).capitalize()}({rng.randrange(100)});"
        elif kind == "go":
            line = f"\t{a} := {b}.Load(ctx, {rng.randrange(1000)})"
        elif kind == "ps1":
            line = f"${a} = Get-{rng.choice(WORDS).capitalize()} -Name '{b}' -Count {rng.randrange(50)}"
        elif kind == "sh":
            line = f"{a.upper()}=\"{b}\"; echo \"${{{a.upper()}}}\" >> /tmp/{rng.choice(WORDS)}.log"
        elif kind == "yaml":
            line = f"  {a}: {b}-{rng.randrange(1000)}"
        elif kind == "md":
            line = f"The {a} service settles the {b} every {rng.randrange(60)} minutes for each region."
        elif kind == "tf":
            line = f"  {a} = \"{b}\""
        else:
            line = f"{a} {b} {rng.randrange(10 ** 6)}"
        out.append(line)
    return out


ARM_VM_EXT = """    {{
      "type": "Microsoft.Compute/virtualMachines/extensions",
      "apiVersion": "2018-06-01",
      "name": "[concat(parameters('vmName'), '/{name}')]",
      "location": "[resourceGroup().location]",
      "properties": {{
        "publisher": "Microsoft.ManagedIdentity",
        "type": "ManagedIdentityExtensionForLinux",
        "typeHandlerVersion": "1.0",
        "settings": {{ "port": 50342 }}
      }}
    }}"""

ARM_OTHER = """    {{
      "type": "Microsoft.Compute/virtualMachines/extensions",
      "apiVersion": "2018-06-01",
      "name": "[concat(parameters('vmName'), '/{name}')]",
      "location": "[resourceGroup().location]",
      "properties": {{
        "publisher": "Microsoft.Azure.Extensions",
        "type": "CustomScript",
        "typeHandlerVersion": "2.1",
        "settings": {{ "commandToExecute": "sh {name}.sh" }}
      }}
    }}"""


def arm_template(rng, planted, target_bytes):
    resources = []
    plant_at = rng.randrange(0, 3) if planted else None
    i = 0
    size = 0
    while size < target_bytes or (plant_at is not None and i <= plant_at):
        block = (ARM_VM_EXT if i == plant_at else ARM_OTHER).format(name=ident(rng))
        resources.append(block)
        size += len(block)
        i += 1
    head = ('{\n  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",\n'
            '  "contentVersion": "1.0.0.0",\n  "parameters": { "vmName": { "type": "string" } },\n  "resources": [\n')
    text = head + ",\n".join(resources) + "\n  ]\n}\n"
    line = None
    if plant_at is not None:
        line = head.count("\n") + 1 + sum(r.count("\n") + 1 for r in resources[:plant_at])
    return text, line


# (extension, filler kind, planted snippet, rule) — the snippet's first line is the finding's line.
PLANTS = [
    ("py", "py", ['    token = requests.get("http://localhost:50342/oauth2/token?resource=https://vault.azure.net", headers={"Metadata": "true"})'], "IMDS030"),
    ("py", "py", ['    url = f"http://localhost:{port}/oauth2/token"'], "IMDS032"),
    ("js", "js", ["  const res = await fetch('http://127.0.0.1:50342/oauth2/token?resource=https://storage.azure.com/', { headers: { Metadata: 'true' } });"], "IMDS030"),
    ("cs", "cs", ['            var url = string.Format("http://localhost:{0}/oauth2/token?resource={1}", port, resource);'], "IMDS032"),
    ("ps1", "ps1", ["Set-AzVMExtension -ResourceGroupName $rg -VMName $vm -Location westeurope `",
                    "    -Name msi -Publisher Microsoft.ManagedIdentity `",
                    "    -ExtensionType ManagedIdentityExtensionForWindows -TypeHandlerVersion 1.0"], "IMDS010"),
    ("sh", "sh", ["az vm extension set -g \"$RG\" --vm-name \"$VM\" \\",
                  "  --name ManagedIdentityExtensionForLinux --publisher Microsoft.ManagedIdentity --version 1.0"], "IMDS011"),
    ("sh", "sh", ["az login --msi --msi-port 50342"], "IMDS012"),
    ("tf", "tf", ['resource "azurerm_virtual_machine_extension" "msi" {',
                  '  name                 = "msi"',
                  '  virtual_machine_id   = azurerm_linux_virtual_machine.vm.id',
                  '  publisher            = "Microsoft.ManagedIdentity"',
                  '  type                 = "ManagedIdentityExtensionForLinux"',
                  '  type_handler_version = "1.0"',
                  '}'], "IMDS020"),
    ("yaml", "yaml", ["        path: /var/lib/waagent/ManagedIdentity-Settings"], "IMDS034"),
    ("md", "md", ["```bash", "curl 'http://localhost:50342/oauth2/token?resource=https://management.azure.com/' -H Metadata:true", "```"], "IMDS030"),
]


# Azure-heavy pages: every one names identities, credentials and token URLs that are not usages.
AZ_ARM_UAI = """    {{
      "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
      "apiVersion": "2023-01-31",
      "name": "{name}",
      "location": "[resourceGroup().location]"
    }},
    {{
      "type": "Microsoft.Compute/virtualMachines",
      "apiVersion": "2023-03-01",
      "name": "{name}-vm",
      "location": "[resourceGroup().location]",
      "dependsOn": ["[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', '{name}')]"],
      "identity": {{
        "type": "UserAssigned",
        "userAssignedIdentities": {{
          "[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', '{name}')]": {{}}
        }}
      }},
      "properties": {{ "hardwareProfile": {{ "vmSize": "Standard_D2s_v5" }} }}
    }}"""

AZ_CODE = {
    "cs": ["            var credential = new ManagedIdentityCredential(clientId);",
           "            var token = await credential.GetTokenAsync(new TokenRequestContext(new[] {{ \"https://vault.azure.net/.default\" }}));",
           "            var aad = $\"https://login.microsoftonline.com/{{tenant}}/oauth2/token\";",
           "            var {a} = new DefaultAzureCredential(new DefaultAzureCredentialOptions {{ ManagedIdentityClientId = {b} }});"],
    "py": ["    credential = ManagedIdentityCredential(client_id={a})",
           "    url = 'http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=' + {b}",
           "    arc = 'http://localhost:40342/metadata/identity/oauth2/token'",
           "    endpoint = os.environ['IDENTITY_ENDPOINT']  # App Service managed identity"],
    "js": ["  const credential = new ManagedIdentityCredential({a});",
           "  const aad = `https://login.microsoftonline.com/${{tenant}}/oauth2/token`;",
           "  const uai = 'Microsoft.ManagedIdentity/userAssignedIdentities';",
           "  const {a} = await new DefaultAzureCredential().getToken({b});"],
    "go": ["\tcred, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{{ID: {a}}})",
           "\timds := \"http://169.254.169.254/metadata/identity/oauth2/token\"",
           "\t// useManagedIdentityExtension: false",
           "\t{a} := armmsi.NewUserAssignedIdentitiesClient({b}, cred, nil)"],
    "tf": ['resource "azurerm_user_assigned_identity" "{a}" {{',
           '  name = "{b}"',
           '}}',
           '  identity {{ type = "UserAssigned" identity_ids = [azurerm_user_assigned_identity.{a}.id] }}'],
    "bicep": ["resource {a} 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {{",
              "  name: '{b}'",
              "}}",
              "output {a}Id string = {a}.properties.principalId"],
    "yaml": ["  useManagedIdentityExtension: false",
             "  userAssignedIdentityID: {a}",
             "  aadTokenUrl: https://login.microsoftonline.com/common/oauth2/token",
             "  {a}: {b}"],
}

AZ_PLANTS = [
    ("json", None, "IMDS001"),
    ("cs", ['            var url = "http://localhost:50342/oauth2/token?resource=" + resource;'], "IMDS030"),
    ("py", ['    resp = requests.get("http://localhost:50342/oauth2/token", params={"resource": r}, headers={"Metadata": "true"})'], "IMDS030"),
    ("tf", ['resource "azurerm_virtual_machine_extension" "msi" {',
            '  name                 = "msi"',
            '  virtual_machine_id   = azurerm_linux_virtual_machine.vm.id',
            '  publisher            = "Microsoft.ManagedIdentity"',
            '  type                 = "ManagedIdentityExtensionForLinux"',
            '  type_handler_version = "1.0"',
            '}'], "IMDS020"),
]


def azure_page(rng, kind, n):
    out = []
    for i in range(n):
        a, b = ident(rng), ident(rng)
        if i % 4 == 0:
            out.append(rng.choice(AZ_CODE[kind]).format(a=a, b=repr(b)))
        else:
            out.extend(filler_lines(rng, "tf" if kind == "bicep" else kind, 1))
    return out


def azure_tree(rng, out, scale, planted):
    files = 8000 * scale
    kinds = [("json", 0.25), ("cs", 0.15), ("py", 0.15), ("js", 0.12), ("go", 0.10), ("tf", 0.10),
             ("bicep", 0.06), ("yaml", 0.07)]
    cum, total = [], 0
    for k, w in kinds:
        total += w
        cum.append((total, k))
    plant_at = set(rng.sample(range(files), 60 * scale))
    for n in range(files):
        area = f"{rng.choice(['infra', 'sdk', 'apps', 'modules'])}/{n % 120:03d}"
        r = rng.random() * total
        kind = next(k for c, k in cum if r <= c)
        if n in plant_at:
            kind = rng.choice([p[0] for p in AZ_PLANTS])
        target = int(rng.lognormvariate(9.8, 0.7))  # median ~18 KB, mean ~23 KB
        plants = [p for p in AZ_PLANTS if p[0] == kind] if n in plant_at else []
        path = f"{area}/{ident(rng)}_{n}.{kind}"
        if kind == "json":
            resources, size, i = [], 0, 0
            plant = 0 if plants else None
            while size < target:
                block = (ARM_VM_EXT.format(name=ident(rng)) if i == plant and plant is not None
                         else AZ_ARM_UAI.format(name=ident(rng)))
                resources.append(block)
                size += len(block)
                i += 1
            head = ('{\n  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",\n'
                    '  "contentVersion": "1.0.0.0",\n  "parameters": { "vmName": { "type": "string" } },\n  "resources": [\n')
            write(f"{out}/{path}", head + ",\n".join(resources) + "\n  ]\n}\n")
            if plants:
                planted.append({"path": path, "line": head.count("\n") + 1, "rule": "IMDS001"})
            continue
        lines = azure_page(rng, kind, max(10, target // 60))
        if plants:
            _, snippet, rule = plants[0]
            at = rng.randrange(len(lines))
            lines[at:at] = snippet
            planted.append({"path": path, "line": at + 1, "rule": rule})
        write(f"{out}/{path}", "\n".join(lines) + "\n")


def fixes_tree(rng, out, scale, planted):
    """5,000 files (at scale 1) that each hold one usage `fix` rewrites safely: the fix benchmark."""
    kinds = ["json", "sh", "py", "tf"]
    for n in range(5000 * scale):
        kind = kinds[n % len(kinds)]
        path = f"svc{n % 100:02d}/{ident(rng)}_{n}.{kind}"
        if kind == "json":
            text, line = arm_template(rng, True, int(rng.lognormvariate(8.5, 0.5)))
            planted.append({"path": path, "line": line, "rule": "IMDS001"})
            write(f"{out}/{path}", text)
            continue
        lines = filler_lines(rng, kind, 40)
        snippet, rule = {
            "sh": (["az vm extension set -g \"$RG\" --vm-name \"$VM\" \\",
                    "  --name ManagedIdentityExtensionForLinux --publisher Microsoft.ManagedIdentity --version 1.0"], "IMDS011"),
            "py": (['    token = requests.get("http://localhost:50342/oauth2/token?resource=https://vault.azure.net", headers={"Metadata": "true"})'], "IMDS030"),
            "tf": (PLANTS[7][2], "IMDS020"),
        }[kind]
        at = rng.randrange(len(lines))
        if kind == "tf":
            at = len(lines)
        lines[at:at] = snippet
        planted.append({"path": path, "line": at + 1, "rule": rule})
        write(f"{out}/{path}", "\n".join(lines) + "\n")


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(path, mode) as f:
        f.write(data)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--scale", type=int, default=1)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--profile", choices=["monorepo", "azure", "fixes"], default="monorepo")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    out = args.out
    if args.profile in ("azure", "fixes"):
        planted = []
        (azure_tree if args.profile == "azure" else fixes_tree)(rng, out, args.scale, planted)
        with open(os.path.join(out, "..", os.path.basename(out.rstrip("/")) + ".planted.json"), "w") as f:
            json.dump(planted, f, indent=1)
        return
    files = 20000 * args.scale
    planted = []
    write(os.path.join(out, ".gitignore"), "node_modules/\n*.tmp\n")

    kinds = [("json", 0.14), ("py", 0.16), ("js", 0.14), ("cs", 0.10), ("go", 0.08), ("ps1", 0.07),
             ("sh", 0.07), ("yaml", 0.10), ("md", 0.08), ("tf", 0.04), ("bin", 0.02)]
    cum = []
    total = 0
    for k, w in kinds:
        total += w
        cum.append((total, k))
    plant_every = 160  # one file in 160 carries a planted usage (about 120 at scale 1)
    for n in range(files):
        svc = f"services/svc{n % 200:03d}/{rng.choice(['src', 'lib', 'deploy', 'docs', 'ops'])}"
        r = rng.random() * total
        kind = next(k for c, k in cum if r <= c)
        name = f"{svc}/{ident(rng)}_{n}"
        target = int(rng.lognormvariate(9.3, 0.8))  # median ~11 KB, mean ~15 KB
        plant = n % plant_every == 0
        if kind == "bin":
            write(f"{out}/{name}.bin", bytes(rng.getrandbits(8) for _ in range(min(target, 40000))) + b"\0" * 64)
            continue
        if kind == "json":
            text, line = arm_template(rng, plant, target)
            path = f"{name}.json"
            write(f"{out}/{path}", text)
            if line is not None:
                planted.append({"path": path, "line": line, "rule": "IMDS001"})
            continue
        choices = [p for p in PLANTS if p[0] == kind]
        lines = filler_lines(rng, kind, max(10, target // 60))
        path = f"{name}.{kind}"
        if plant and choices:
            ext, _, snippet, rule = rng.choice(choices)
            at = rng.randrange(len(lines))
            lines[at:at] = snippet
            first = at + 1 + (1 if kind == "md" else 0)
            planted.append({"path": path, "line": first, "rule": rule})
        write(f"{out}/{path}", "\n".join(lines) + "\n")

    # A gitignored node_modules full of usages: none may be reported.
    for n in range(500 * args.scale):
        body = "\n".join(filler_lines(rng, "js", 100))
        write(f"{out}/node_modules/pkg{n % 50}/lib/m{n}.js",
              body + "\nfetch('http://localhost:50342/oauth2/token?resource=x');\n")
    # A few large data exports (25 MB each at scale 1) that both tools read in full; the token
    # URLs in them are AAD's, look-alikes that no analyzer reports.
    for n in range(4 * args.scale):
        line = ("2026-11-01T10:00:00Z,orders,200,12,https://api.example.com/v1/orders\n" * 200)
        aad = "2026-11-01T10:00:01Z,auth,200,40,https://login.microsoftonline.com/common/oauth2/token\n"
        chunk = line + aad
        reps = (25 * 1024 * 1024) // len(chunk)
        write(f"{out}/data/export-{n}.csv", chunk * reps)

    with open(os.path.join(out, "..", os.path.basename(out.rstrip("/")) + ".planted.json"), "w") as f:
        json.dump(planted, f, indent=1)


if __name__ == "__main__":
    main()
