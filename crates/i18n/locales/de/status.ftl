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
status-automatic = Automatisch aus dem Zustand der Gateways bestimmt, geprüft { $time }.
status-refresh-start = Diese Seite jede Minute aktualisieren
status-refresh-stop = Diese Seite nicht mehr aktualisieren
status-under-maintenance = Wartung
status-maintenance-running = Wartungsarbeiten laufen
status-source-automatic = automatisch aus dem Zustand der Gateways
status-source-operator = vom Betrieb gesetzt
status-source-maintenance = geplante Wartung
status-since = seit { $time }
status-quota-full = alle VPN-Plätze Ihrer Kommune sind belegt
status-gateways-not-yet-online = { $count ->
    [one] 1 Gateway noch nicht in Betrieb
   *[other] { $count } Gateways noch nicht in Betrieb
}
status-bar = { $day }: { $status }, { $percent } % verfügbar
status-bar-none = { $day }: keine Daten
status-uptime = { $percent } % verfügbar in 90 Tagen
status-uptime-unknown = Noch kein Verlauf
status-history = Letzte 90 Tage
status-group-other = Weitere Dienste
incident-state-investigating = Wird untersucht
incident-state-identified = Ursache erkannt
incident-state-monitoring = Wird beobachtet
incident-state-resolved = Behoben
incident-state-scheduled = Geplant
incident-state-in_progress = Läuft
incident-state-completed = Abgeschlossen
impact-none = keine
impact-minor = gering
impact-major = erheblich
impact-critical = kritisch
status-impact = Auswirkung: { $impact }
status-stale = { $minutes ->
    [one] Seit über einer Minute keine neue Meldung
   *[other] Seit über { $minutes } Minuten keine neue Meldung
}
status-window = Von { $start } bis { $end }
status-affects = Betrifft: { $components }
status-text-fallback = (nur auf { $language } verfügbar)
language-name-de = Deutsch
language-name-nl = Niederländisch
language-name-en = Englisch
status-active-incidents = Aktuelle Störungen
status-maintenance = Geplante Wartungen
status-past-incidents = Vergangene Störungen (7 Tage)
status-no-incidents = Keine Störungen in den letzten 7 Tagen.
status-follow = Auf dem Laufenden bleiben
status-feed = Atom-Feed
status-json = JSON-Zusammenfassung
status-subscribe-email = Ihre E-Mail-Adresse für Benachrichtigungen
status-subscribe-button = Abonnieren
status-subscribe-title = Benachrichtigungen per E-Mail
status-subscribe-sent = Vielen Dank. Wir haben Ihnen eine E-Mail geschickt: Bitte bestätigen Sie das Abonnement mit dem Link darin.
status-subscribe-off = Benachrichtigungen per E-Mail sind nicht verfügbar.
status-confirm-question = Möchten Sie E-Mails zu Störungen und Wartungen erhalten?
status-confirm-button = Ja, abonnieren
status-confirmed = Ihr Abonnement ist bestätigt. Jede E-Mail enthält einen Link zum Abbestellen.
status-link-invalid = Dieser Link ist ungültig oder abgelaufen.
status-unsubscribe-title = Abbestellen
status-unsubscribe-question = Möchten Sie keine E-Mails mehr von dieser Statusseite erhalten?
status-unsubscribe-button = Abbestellen
status-unsubscribed = Sie erhalten keine E-Mails mehr.
status-back = Zurück zur Statusseite
mail-confirm-subject = Bitte bestätigen Sie Ihr Abonnement der Statusseite
mail-confirm-body = Jemand (hoffentlich Sie) hat diese Adresse für die Statusseite { $page } angemeldet.

    Um E-Mails zu Störungen und Wartungen zu erhalten, bestätigen Sie hier:
    { $link }

    Wenn Sie das nicht waren, ignorieren Sie diese E-Mail.
mail-incident-subject = [Status] { $title } – { $state }
mail-page = Aktueller Stand: { $link }
mail-unsubscribe = Abbestellen: { $link }
status-history-link = Alle Störungen der letzten 90 Tage
status-history-title = Störungsverlauf
status-history-title-tenant = Störungsverlauf · { $tenant }
status-history-none = Keine Störungen gemeldet.
status-month = { $month ->
    [1] Januar
    [2] Februar
    [3] März
    [4] April
    [5] Mai
    [6] Juni
    [7] Juli
    [8] August
    [9] September
    [10] Oktober
    [11] November
   *[12] Dezember
}
