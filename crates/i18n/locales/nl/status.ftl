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
status-automatic = Automatisch bepaald uit de toestand van de gateways, gecontroleerd { $time }.
status-refresh-start = Deze pagina elke minuut verversen
status-refresh-stop = Deze pagina niet meer verversen
status-under-maintenance = Onderhoud
status-maintenance-running = Onderhoud bezig
status-source-automatic = automatisch bepaald uit de toestand van de gateways
status-source-operator = ingesteld door de beheerder
status-source-maintenance = gepland onderhoud
status-since = sinds { $time }
status-quota-full = alle VPN-plaatsen van uw gemeente zijn bezet
status-gateways-not-yet-online = { $count ->
    [one] 1 gateway nog niet in gebruik
   *[other] { $count } gateways nog niet in gebruik
}
status-bar = { $day }: { $status }, { $percent } % beschikbaar
status-bar-none = { $day }: geen gegevens
status-uptime = { $percent } % beschikbaar in 90 dagen
status-uptime-unknown = Nog geen geschiedenis
status-history = Laatste 90 dagen
status-group-other = Overige diensten
incident-state-investigating = Wordt onderzocht
incident-state-identified = Oorzaak gevonden
incident-state-monitoring = Wordt gevolgd
incident-state-resolved = Opgelost
incident-state-scheduled = Gepland
incident-state-in_progress = Bezig
incident-state-completed = Afgerond
impact-none = geen
impact-minor = klein
impact-major = groot
impact-critical = kritiek
status-impact = Impact: { $impact }
status-stale = { $minutes ->
    [one] Al meer dan een minuut geen nieuw bericht
   *[other] Al meer dan { $minutes } minuten geen nieuw bericht
}
status-window = Van { $start } tot { $end }
status-affects = Betreft: { $components }
status-text-fallback = (alleen beschikbaar in het { $language })
language-name-de = Duits
language-name-nl = Nederlands
language-name-en = Engels
status-active-incidents = Actuele storingen
status-maintenance = Gepland onderhoud
status-past-incidents = Eerdere storingen (7 dagen)
status-no-incidents = Geen storingen in de afgelopen 7 dagen.
status-follow = Op de hoogte blijven
status-feed = Atom-feed
status-json = JSON-samenvatting
status-subscribe-email = Uw e-mailadres voor meldingen
status-subscribe-button = Abonneren
status-subscribe-title = Meldingen per e-mail
status-subscribe-sent = Dank u. We hebben u een e-mail gestuurd: bevestig uw abonnement met de link daarin.
status-subscribe-off = Meldingen per e-mail zijn niet beschikbaar.
status-confirm-question = Wilt u e-mails ontvangen over storingen en onderhoud?
status-confirm-button = Ja, abonneren
status-confirmed = Uw abonnement is bevestigd. Elke e-mail bevat een link om af te melden.
status-link-invalid = Deze link is ongeldig of verlopen.
status-unsubscribe-title = Afmelden
status-unsubscribe-question = Wilt u geen e-mails meer ontvangen van deze statuspagina?
status-unsubscribe-button = Afmelden
status-unsubscribed = U ontvangt geen e-mails meer.
status-back = Terug naar de statuspagina
mail-confirm-subject = Bevestig uw abonnement op de statuspagina
mail-confirm-body = Iemand (hopelijk u) heeft dit adres aangemeld voor de statuspagina { $page }.

    Bevestig hier om e-mails over storingen en onderhoud te ontvangen:
    { $link }

    Heeft u dit niet gevraagd, negeer dan deze e-mail.
mail-incident-subject = [Status] { $title } – { $state }
mail-page = Actuele status: { $link }
mail-unsubscribe = Afmelden: { $link }
status-history-link = Alle storingen van de afgelopen 90 dagen
status-history-title = Storingsgeschiedenis
status-history-title-tenant = Storingsgeschiedenis · { $tenant }
status-history-none = Geen storingen gemeld.
status-month = { $month ->
    [1] januari
    [2] februari
    [3] maart
    [4] april
    [5] mei
    [6] juni
    [7] juli
    [8] augustus
    [9] september
    [10] oktober
    [11] november
   *[12] december
}
