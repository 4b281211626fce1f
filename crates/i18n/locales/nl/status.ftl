# De openbare statuspagina.
status-title = Status van de dienst
status-title-tenant = Status van de dienst voor { $tenant }
status-no-tenant = Er is geen gemeente "{ $tenant }".
status-all-operational = Alle systemen werken
status-some-disrupted = Sommige diensten zijn verstoord
status-no-components = Er worden nog geen diensten bewaakt.
status-components = Diensten
status-component = Dienst
status-state = Status
status-detail = Details
status-vpn-region = VPN { $region }
status-gateways-online = { $online } van { $total } gateways bereikbaar
status-operational = Werkt
status-degraded = Verminderde prestaties
status-partial-outage = Gedeeltelijke storing
status-major-outage = Ernstige storing
status-automatic = Automatisch bepaald uit de toestand van de gateways, gecontroleerd { $time }. De pagina ververst elke minuut.
