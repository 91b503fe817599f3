# imds-migrate live check (Windows PowerShell 4+). Read-only: reports whether anything on this
# machine still talks to the Managed Identity extension's token service. It prints counts,
# process names, pids, users, paths, service and task names; never file contents, environment
# variables or tokens.
# Inputs: Run Command's RunPowerShellScript hands `parameters` to the script as named script
# parameters: -PORT, -SAMPLE_SECONDS, -SEARCH_DIRS (':'-separated; a drive colon stays).
# Output: one record per line, the summary last (Azure keeps only the last 4 KB of stdout).
# Time: at most 40 s of sampling, 12 s of file search, then services and scheduled tasks.
param([string]$PORT = '50342', [string]$SAMPLE_SECONDS = '30', [string]$SEARCH_DIRS = '')

$ErrorActionPreference = 'SilentlyContinue'
$ProgressPreference = 'SilentlyContinue'

function Safe([string]$s) {
    $t = $s -replace '[^\x20-\x7E]', '?'
    if ($t.Length -gt 200) { $t = $t.Substring(0, 200) }
    $t
}

if ($PORT -notmatch '^\d{1,5}$' -or [int]$PORT -lt 1 -or [int]$PORT -gt 65535) {
    Write-Output 'error bad-port'; Write-Output 'end'; exit 0
}
if ($SAMPLE_SECONDS -notmatch '^\d{1,3}$') {
    Write-Output 'error bad-sample'; Write-Output 'end'; exit 0
}
$port = [int]$PORT
$sample = [Math]::Min([int]$SAMPLE_SECONDS, 40)
if (-not $SEARCH_DIRS) {
    $SEARCH_DIRS = 'C:\ProgramData:C:\inetpub:C:\Program Files:C:\Program Files (x86):C:\Users'
}
$roots = $SEARCH_DIRS -split ':(?![\\/])'

$haveNet = [bool](Get-Command Get-NetTCPConnection)
$via = if ($haveNet) { 'nettcp' } else { 'netstat' }
Write-Output ('imds-check 1 os=windows port={0} sample={1} via={2}' -f $port, $sample, $via)

$script:listen = 0
$script:lpid = '-'
$seen = @{}
$procs = @{}
# A connection is keyed by its client end; the server's end counts when the client is local,
# without an owner until the client's end is seen.
function Loopback([string]$a) { $a -eq '::1' -or $a -like '127.*' -or $a -like '::ffff:127.*' }
$deadline = (Get-Date).AddSeconds($sample)
while ($true) {
    $conns = @()
    if ($haveNet) {
        $l = @(Get-NetTCPConnection -LocalPort $port -State Listen)
        if ($l.Count -gt 0) { $script:listen = 1; $script:lpid = [int]$l[0].OwningProcess }
        $conns = @(Get-NetTCPConnection -RemotePort $port | ForEach-Object {
                New-Object PSObject -Property @{ Key = "$($_.LocalAddress):$($_.LocalPort)"; Owner = [int]$_.OwningProcess }
            })
        $conns += @(Get-NetTCPConnection -LocalPort $port | Where-Object { $_.State -ne 'Listen' -and (Loopback $_.RemoteAddress) } | ForEach-Object {
                New-Object PSObject -Property @{ Key = "$($_.RemoteAddress):$($_.RemotePort)"; Owner = 0 }
            })
    } else {
        $conns = @(netstat -ano -p TCP | ForEach-Object {
                $f = -split $_
                if ($f.Count -ge 5 -and $f[0] -eq 'TCP') {
                    if ($f[1] -match ":$port$" -and $f[3] -eq 'LISTENING') { $script:listen = 1; $script:lpid = [int]$f[4] }
                    elseif ($f[2] -match ":$port$") { New-Object PSObject -Property @{ Key = $f[1]; Owner = [int]$f[4] } }
                    elseif ($f[1] -match ":$port$" -and $f[2] -match '^(127\.|\[::1\])') { New-Object PSObject -Property @{ Key = $f[2]; Owner = 0 } }
                }
            })
    }
    foreach ($c in $conns) {
        $owner = $c.Owner
        if ($seen.ContainsKey($c.Key)) {
            # Seen before; only an owner for an unowned one changes anything.
            if ($seen[$c.Key] -ne 0 -or $owner -eq 0) { continue }
            $procs[0].Conns--
            if ($procs[0].Conns -le 0) { $procs.Remove(0) }
        }
        $seen[$c.Key] = $owner
        if (-not $procs.ContainsKey($owner)) {
            $name = '?'; $user = '?'
            if ($owner -gt 0) {
                $p = Get-Process -Id $owner -IncludeUserName
                if ($p) { $name = $p.ProcessName; if ($p.UserName) { $user = $p.UserName } }
            }
            $procs[$owner] = @{ Name = $name; User = $user; Conns = 0 }
        }
        $procs[$owner].Conns++
    }
    if ((Get-Date) -ge $deadline) { break }
    Start-Sleep -Milliseconds 200
}

$lname = '?'
if ($script:lpid -ne '-') { $lp = Get-Process -Id $script:lpid; if ($lp) { $lname = $lp.ProcessName } }
Write-Output ('listen {0} {1} {2}' -f $script:listen, $script:lpid, (Safe $lname))
$connections = 0
foreach ($k in $procs.Keys) { $connections += $procs[$k].Conns }
$processes = @($procs.Keys | Where-Object { $_ -gt 0 }).Count
$procs.GetEnumerator() | Sort-Object { $_.Value.Conns } -Descending | Select-Object -First 10 | ForEach-Object {
    $id = if ($_.Key -gt 0) { $_.Key } else { '-' }
    Write-Output ('conn {0} {1} {2} {3}' -f $_.Value.Conns, $id, (Safe ($_.Value.User -replace ' ', '_')), (Safe $_.Value.Name))
}

$pat = "(localhost|127\.0\.0\.1|\[::1\]):$port(?!\d)|(msi|managed.?identity)[a-z_.-]{0,20}[`"' :=>]{1,4}$port(?!\d)|ManagedIdentity-Settings"
$rx = New-Object System.Text.RegularExpressions.Regex($pat, 'IgnoreCase')
$skipExt = @('.exe', '.dll', '.sys', '.msi', '.msp', '.cab', '.zip', '.7z', '.png', '.jpg', '.gif', '.ico', '.pdb', '.lib', '.iso', '.vhd', '.vhdx', '.evtx', '.etl')
$scanned = 0; $matched = 0; $capped = 0
$shown = New-Object System.Collections.ArrayList
$fileEnd = (Get-Date).AddSeconds(12)
$stack = New-Object System.Collections.Stack
foreach ($r in $roots) { if ($r -and [IO.Directory]::Exists($r)) { $stack.Push($r) } }
while ($stack.Count -gt 0 -and $capped -eq 0) {
    $d = $stack.Pop()
    # The extension's own files and the agent's.
    if ($d -match '^[A-Za-z]:\\(Packages|WindowsAzure)(\\|$)') { continue }
    try {
        foreach ($s in [IO.Directory]::GetDirectories($d)) {
            if (-not ([IO.File]::GetAttributes($s) -band [IO.FileAttributes]::ReparsePoint)) { $stack.Push($s) }
        }
    } catch {}
    $files = @()
    try { $files = [IO.Directory]::GetFiles($d) } catch {}
    foreach ($p in $files) {
        if ($scanned -ge 20000 -or (Get-Date) -ge $fileEnd) { $capped = 1; break }
        $fi = New-Object IO.FileInfo($p)
        if ($fi.Length -gt 1MB -or $skipExt -contains $fi.Extension.ToLower()) { continue }
        $scanned++
        try {
            $bytes = [IO.File]::ReadAllBytes($p)
            $bom = $bytes.Length -ge 2 -and (($bytes[0] -eq 0xFF -and $bytes[1] -eq 0xFE) -or ($bytes[0] -eq 0xFE -and $bytes[1] -eq 0xFF))
            $head = [Math]::Min($bytes.Length, 8000)
            if (-not $bom -and $head -gt 0 -and [Array]::IndexOf($bytes, [byte]0, 0, $head) -ge 0) { continue }
            if ($rx.IsMatch([IO.File]::ReadAllText($p))) {
                $matched++
                if ($shown.Count -lt 5) { [void]$shown.Add($p) }
            }
        } catch {}
    }
}
foreach ($p in $shown) { Write-Output ('file {0}' -f (Safe $p)) }
Write-Output ('scan files={0} matched={1} capped={2}' -f $scanned, $matched, $capped)

$units = New-Object System.Collections.ArrayList
Get-CimInstance Win32_Service | Where-Object { $_.PathName -and $rx.IsMatch($_.PathName) } | ForEach-Object { [void]$units.Add('service:' + $_.Name) }
Get-ScheduledTask | ForEach-Object {
    $t = $_
    $text = ($t.Actions | ForEach-Object { "$($_.Execute) $($_.Arguments)" }) -join ' '
    if ($rx.IsMatch($text)) { [void]$units.Add('task:' + $t.TaskPath + $t.TaskName) }
}
$units | Select-Object -First 5 | ForEach-Object { Write-Output ('unit {0}' -f (Safe $_)) }

Write-Output ('summary listen={0} connections={1} processes={2} files={3} units={4}' -f $script:listen, $connections, $processes, $matched, $units.Count)
Write-Output 'end'
