# Die öffentliche Statusseite.
status-title = Status des Dienstes
status-title-tenant = Status des Dienstes für { $tenant }
status-no-tenant = Es gibt keine Gemeinde „{ $tenant }“.
status-all-operational = Alle Systeme funktionieren
status-some-disrupted = Einige Dienste sind gestört
status-no-components = Noch werden keine Dienste überwacht.
status-components = Dienste
status-component = Dienst
status-state = Status
status-detail = Details
status-vpn-region = VPN { $region }
status-gateways-online = { $online } von { $total } Gateways erreichbar
status-operational = In Betrieb
status-degraded = Eingeschränkte Leistung
status-partial-outage = Teilweiser Ausfall
status-major-outage = Schwerer Ausfall
status-automatic = Automatisch aus dem Zustand der Gateways bestimmt, geprüft { $time }. Die Seite aktualisiert sich jede Minute.
