#!/usr/bin/env python3
"""Generates a synthetic monorepo for imds-migrate's performance benchmark.

Deterministic for a given --seed and --scale: the same bytes every time. Writes, under --out:
mixed source files (ARM JSON, PowerShell, shell, Python, JavaScript, C#, Go, YAML, Markdown,
Terraform, Bicep), binaries, a few large logs, a gitignored node_modules/ full of usages that
must not be reported, and planted usages listed in planted.json (path, line, rule) next to the
tree. Scale 1 is about 20,000 files and 400 MB.
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
    args = ap.parse_args()
    rng = random.Random(args.seed)
    out = args.out
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
    plant_every = 40  # one file in 40 carries a planted usage
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
    # A few large logs (25 MB each at scale 1), with quoted errors that are not usages.
    for n in range(4 * args.scale):
        line = ("2026-11-01T10:00:00Z INFO request id=%d path=/api/orders status=200 dur_ms=12\n" * 200)
        err = "MSI: Failed to retrieve a token from 'http://localhost:50342/oauth2/token'\n"
        chunk = line + err
        reps = (25 * 1024 * 1024) // len(chunk)
        write(f"{out}/logs/service-{n}.log", chunk * reps)

    with open(os.path.join(out, "..", os.path.basename(out.rstrip("/")) + ".planted.json"), "w") as f:
        json.dump(planted, f, indent=1)


if __name__ == "__main__":
    main()
