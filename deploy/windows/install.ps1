#Requires -RunAsAdministrator
<#
.SYNOPSIS
    Installs (or upgrades) the school web filter as the Windows service SchoolFilter.
.DESCRIPTION
    Run from the unpacked zip made by deploy/windows/build-zip (bin\, appsettings.json, policy\, these scripts):

        powershell -ExecutionPolicy Bypass -File .\install.ps1

    - Copies the self-contained service (bin\) to -InstallDir; appsettings.json beside it (the service's content root
      when it runs as a service) only if none is there, so a school's settings survive an upgrade.
    - Creates -DataDir\policy (the bundled default policy, only if none is there), -DataDir\state (alert outbox) and
      -DataDir\log (audit log), with ACLs: the service reads the policy and writes only state and log; users get nothing.
    - Runs the service as its virtual account NT SERVICE\SchoolFilter (no password, no rights beyond these folders),
      starts it automatically, and restarts it after a failure (5 s, 5 s, then 60 s; the count resets after a day).
    - Registers the Event Log source SchoolFilter (Application log): the service logs there, and a virtual account
      cannot register a source itself.
    - Opens the proxy port(s) of Proxy:Listen in appsettings.json in Windows Firewall (Domain and Private profiles),
      for FilterService.exe only. The admin port (/health, /metrics) is not opened.
    docs/service.md, "Installing on Windows". uninstall.ps1 reverses it.
#>
[CmdletBinding()]
param(
    [string] $InstallDir = (Join-Path $env:ProgramFiles 'SchoolFilter'),
    [string] $DataDir = (Join-Path $env:ProgramData 'SchoolFilter'),
    [switch] $NoStart
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

# One name for the service, its account, its Event Log source and its firewall rule (ProxyHost.WindowsServiceName).
$ServiceName = 'SchoolFilter'
$Account = "NT SERVICE\$ServiceName"
$FirewallRule = "$ServiceName-Proxy"
$Package = $PSScriptRoot
$Exe = Join-Path $InstallDir 'FilterService.exe'

function Invoke-Sc {
    param([Parameter(Mandatory)] [string[]] $Arguments)
    $output = & sc.exe @Arguments 2>&1
    if ($LASTEXITCODE -ne 0) {
        throw "sc.exe $($Arguments -join ' ') failed ($LASTEXITCODE): $output"
    }
}

# 1. Stop a running older version, so its files can be replaced.
$existing = Get-Service -Name $ServiceName -ErrorAction SilentlyContinue
if ($existing -and $existing.Status -ne 'Stopped') {
    Write-Host "Stopping $ServiceName for the upgrade"
    Stop-Service -Name $ServiceName -Force
    $existing.WaitForStatus('Stopped', [TimeSpan]::FromSeconds(60))
}

# 2. The program, and its settings unless the school already has some.
New-Item -ItemType Directory -Force -Path $InstallDir | Out-Null
Copy-Item -Path (Join-Path $Package 'bin\*') -Destination $InstallDir -Recurse -Force
$settings = Join-Path $InstallDir 'appsettings.json'
if (-not (Test-Path $settings)) {
    Copy-Item -Path (Join-Path $Package 'appsettings.json') -Destination $settings
}

# 3. Data folders; the default policy only where there is none (a school's policy survives an upgrade).
$policyDir = Join-Path $DataDir 'policy'
$stateDir = Join-Path $DataDir 'state'
$logDir = Join-Path $DataDir 'log'
foreach ($dir in @($DataDir, $stateDir, $logDir)) {
    New-Item -ItemType Directory -Force -Path $dir | Out-Null
}
if (-not (Test-Path (Join-Path $policyDir 'policy.yaml'))) {
    New-Item -ItemType Directory -Force -Path $policyDir | Out-Null
    Copy-Item -Path (Join-Path $Package 'policy\*') -Destination $policyDir -Recurse -Force
}

# 4. The service, as its virtual account, started automatically, restarted on failure.
if (-not $existing) {
    New-Service -Name $ServiceName -BinaryPathName "`"$Exe`"" -DisplayName 'School web filter' -StartupType Automatic | Out-Null
}
Invoke-Sc @('config', $ServiceName, "binPath=", "`"$Exe`"", 'start=', 'auto', 'obj=', $Account)
Invoke-Sc @('description', $ServiceName, 'Filtering forward proxy for the school network (policy in ProgramData\SchoolFilter\policy).')
# The virtual account is the service's SID: it must be unrestricted for NT SERVICE\SchoolFilter to appear in ACLs.
Invoke-Sc @('sidtype', $ServiceName, 'unrestricted')
Invoke-Sc @('failure', $ServiceName, 'reset=', '86400', 'actions=', 'restart/5000/restart/5000/restart/60000')
# Restart also when the process exits with an error code (a bad policy at start exits 2) rather than only on a crash.
Invoke-Sc @('failureflag', $ServiceName, '1')

# 5. ACLs: inheritance off; SYSTEM and Administrators full; the service reads the policy, modifies state and log.
function Set-Acl-For {
    param([string] $Path, [string] $ServiceRights)
    $output = & icacls.exe $Path /inheritance:r /grant:r '*S-1-5-18:(OI)(CI)F' '*S-1-5-32-544:(OI)(CI)F' "${Account}:(OI)(CI)$ServiceRights" 2>&1
    if ($LASTEXITCODE -ne 0) {
        throw "icacls $Path failed ($LASTEXITCODE): $output"
    }
}
Set-Acl-For -Path $DataDir -ServiceRights 'RX'
Set-Acl-For -Path $policyDir -ServiceRights 'RX'
Set-Acl-For -Path $stateDir -ServiceRights 'M'
Set-Acl-For -Path $logDir -ServiceRights 'M'

# 6. The Event Log source the service writes to (Application log).
if (-not [System.Diagnostics.EventLog]::SourceExists($ServiceName)) {
    [System.Diagnostics.EventLog]::CreateEventSource($ServiceName, 'Application')
}

# 7. Firewall: the proxy port(s) of Proxy:Listen, for this program only.
$listen = (Get-Content -Raw -Path $settings | ConvertFrom-Json).Proxy.Listen
$ports = @($listen -split '[;,]' | ForEach-Object { ($_.Trim() -split ':')[-1] } | Where-Object { $_ } | Select-Object -Unique)
if ($ports.Count -eq 0) {
    throw "$settings has no Proxy:Listen port"
}
Get-NetFirewallRule -Name $FirewallRule -ErrorAction SilentlyContinue | Remove-NetFirewallRule
New-NetFirewallRule -Name $FirewallRule -DisplayName 'School web filter (proxy)' -Direction Inbound -Action Allow `
    -Protocol TCP -LocalPort $ports -Program $Exe -Profile Domain, Private | Out-Null

# 8. Start, and ask the service itself whether it is healthy.
if (-not $NoStart) {
    Start-Service -Name $ServiceName
    (Get-Service -Name $ServiceName).WaitForStatus('Running', [TimeSpan]::FromSeconds(60))
    Push-Location $InstallDir
    try {
        $healthy = $false
        foreach ($attempt in 1..15) {
            & $Exe health | Write-Host
            if ($LASTEXITCODE -eq 0) { $healthy = $true; break }
            Start-Sleep -Seconds 2
        }
    }
    finally {
        Pop-Location
    }
    if (-not $healthy) {
        Write-Warning "$ServiceName is running but /health is not ok: see the Application event log (source $ServiceName)."
    }
}
Write-Host "Installed $ServiceName in $InstallDir; policy in $policyDir; proxy port(s) $($ports -join ', ')."
