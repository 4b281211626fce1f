# The public status page.
status-title = Service status
status-title-tenant = Service status for { $tenant }
status-no-tenant = There is no municipality "{ $tenant }".
status-all-operational = All systems operational
status-some-disrupted = Some services are disrupted
status-no-components = No services are being monitored yet.
status-components = Services
status-component = Service
status-state = Status
status-detail = Details
status-vpn-region = VPN { $region }
status-gateways-online = { $online } of { $total } gateways online
status-operational = Operational
status-degraded = Degraded performance
status-partial-outage = Partial outage
status-major-outage = Major outage
status-automatic = Set automatically from the gateways' health, checked { $time }. The page refreshes every minute.
