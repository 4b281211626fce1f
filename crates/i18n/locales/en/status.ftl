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
status-automatic = Set automatically from the gateways' health, checked { $time }.
status-refresh-start = Update this page every minute
status-refresh-stop = Stop updating this page
status-under-maintenance = Under maintenance
status-maintenance-running = Maintenance in progress
status-source-automatic = set automatically from the gateways' health
status-source-operator = set by the operator
status-source-maintenance = scheduled maintenance
status-since = since { $time }
status-quota-full = all VPN seats of your municipality are in use
status-gateways-not-yet-online = { $count ->
    [one] 1 gateway not yet online
   *[other] { $count } gateways not yet online
}
status-bar = { $day }: { $status }, { $percent } % available
status-bar-none = { $day }: no data
status-uptime = { $percent } % available over 90 days
status-uptime-unknown = No history yet
status-history = Last 90 days
status-group-other = Other services
incident-state-investigating = Investigating
incident-state-identified = Identified
incident-state-monitoring = Monitoring
incident-state-resolved = Resolved
incident-state-scheduled = Scheduled
incident-state-in_progress = In progress
incident-state-completed = Completed
impact-none = none
impact-minor = minor
impact-major = major
impact-critical = critical
status-impact = Impact: { $impact }
status-stale = { $minutes ->
    [one] No update for more than one minute
   *[other] No update for more than { $minutes } minutes
}
status-window = From { $start } to { $end }
status-affects = Affects: { $components }
status-text-fallback = (only available in { $language })
language-name-de = German
language-name-nl = Dutch
language-name-en = English
status-active-incidents = Current incidents
status-maintenance = Scheduled maintenance
status-past-incidents = Past incidents (7 days)
status-no-incidents = No incidents in the last 7 days.
status-follow = Stay informed
status-feed = Atom feed
status-json = JSON summary
status-subscribe-email = Your e-mail address for notifications
status-subscribe-button = Subscribe
status-subscribe-title = E-mail notifications
status-subscribe-sent = Thank you. We have sent you an e-mail: please confirm your subscription with the link in it.
status-subscribe-off = E-mail notifications are not available.
status-confirm-question = Do you want to receive e-mails about incidents and maintenance?
status-confirm-button = Yes, subscribe
status-confirmed = Your subscription is confirmed. Every e-mail contains a link to unsubscribe.
status-link-invalid = This link is invalid or has expired.
status-unsubscribe-title = Unsubscribe
status-unsubscribe-question = Do you want to stop receiving e-mails from this status page?
status-unsubscribe-button = Unsubscribe
status-unsubscribed = You will not receive any more e-mails.
status-back = Back to the status page
mail-confirm-subject = Please confirm your status page subscription
mail-confirm-body = Someone (hopefully you) subscribed this address to the status page { $page }.

    To receive e-mails about incidents and maintenance, confirm here:
    { $link }

    If you did not ask for this, ignore this e-mail.
mail-incident-subject = [Status] { $title } – { $state }
mail-page = Current status: { $link }
mail-unsubscribe = Unsubscribe: { $link }
status-history-link = All incidents of the last 90 days
status-history-title = Incident history
status-history-title-tenant = Incident history · { $tenant }
status-history-none = No incidents reported.
status-month = { $month ->
    [1] January
    [2] February
    [3] March
    [4] April
    [5] May
    [6] June
    [7] July
    [8] August
    [9] September
    [10] October
    [11] November
   *[12] December
}
