#Requires -RunAsAdministrator
<#
.SYNOPSIS
    Removes the school web filter service installed by install.ps1.
.DESCRIPTION
    Stops and deletes the SchoolFilter service, its firewall rule, its Event Log source and the program folder.
    The policy, the alert outbox and the audit log in -DataDir are kept (records a school may have to keep), and so is
    the settings file, unless -Purge is given: as dpkg -r and dpkg --purge on Debian. docs/service.md.
#>
[CmdletBinding()]
param(
    [string] $InstallDir = (Join-Path $env:ProgramFiles 'SchoolFilter'),
    [string] $DataDir = (Join-Path $env:ProgramData 'SchoolFilter'),
    [switch] $Purge
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$ServiceName = 'SchoolFilter'
$FirewallRule = "$ServiceName-Proxy"

$service = Get-Service -Name $ServiceName -ErrorAction SilentlyContinue
if ($service) {
    if ($service.Status -ne 'Stopped') {
        Stop-Service -Name $ServiceName -Force
        $service.WaitForStatus('Stopped', [TimeSpan]::FromSeconds(60))
    }
    $output = & sc.exe delete $ServiceName 2>&1
    if ($LASTEXITCODE -ne 0) {
        throw "sc.exe delete $ServiceName failed ($LASTEXITCODE): $output"
    }
}
Get-NetFirewallRule -Name $FirewallRule -ErrorAction SilentlyContinue | Remove-NetFirewallRule
if ([System.Diagnostics.EventLog]::SourceExists($ServiceName)) {
    [System.Diagnostics.EventLog]::DeleteEventSource($ServiceName)
}
if (Test-Path $InstallDir) {
    if ($Purge) {
        Remove-Item -Recurse -Force -Path $InstallDir
    }
    else {
        # Everything but the school's settings.
        Get-ChildItem -Path $InstallDir -Exclude 'appsettings.json' | Remove-Item -Recurse -Force
    }
}
if ($Purge -and (Test-Path $DataDir)) {
    Remove-Item -Recurse -Force -Path $DataDir
}
Write-Host ("Removed $ServiceName." + $(if ($Purge) { ' Purged its settings and data.' } else { " Kept $DataDir and $InstallDir\appsettings.json (-Purge removes them)." }))
