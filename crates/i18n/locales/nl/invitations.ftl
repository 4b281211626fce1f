## Invitation mails
invitation-mail-subject = { $tenant }: uw toegang voor thuiswerken
invitation-mail-subject-reminder = Herinnering – { $tenant }: uw toegang voor thuiswerken
invitation-mail-greeting = Beste { $name },
invitation-mail-reminder = U hebt uw toegang nog niet ingesteld. Uw eerdere link werkt niet meer; gebruik deze.
invitation-mail-intro = { $tenant } nodigt u uit om thuis te werken. Open deze link en kies uw wachtwoord; daarna helpt de pagina u uw laptop of telefoon in te stellen:
invitation-mail-button = Mijn toegang instellen
invitation-mail-details = De link werkt één keer, tot { $until }. Uw gebruikersnaam: { $username }
invitation-mail-ignore = Wachtwoorden worden nooit per e-mail verstuurd. Verwachtte u deze e-mail niet, meld het dan aan uw IT-coördinator.

## The invitation page
invite-title = Welkom bij { $tenant }
invite-intro = Beste { $name }, kies uw wachtwoord. Daarmee logt u voortaan in.
invite-username = Uw gebruikersnaam: { $username }
invite-password = Nieuw wachtwoord
invite-password-repeat = Herhaal het wachtwoord
invite-submit = Wachtwoord opslaan en verder
invite-mismatch = De twee wachtwoorden verschillen. Typ twee keer hetzelfde wachtwoord.
invite-password-short = Het wachtwoord moet minstens 12 tekens hebben.
invite-expired-title = Deze link werkt niet meer
invite-expired = De link is verlopen op { $until }. Vraag uw IT-coördinator om een nieuwe uitnodiging.
invite-used = Deze link is al gebruikt. Log in met uw gebruikersnaam en het gekozen wachtwoord.
invite-revoked = Deze link is vervangen door een nieuwere uitnodiging of ingetrokken. Gebruik de nieuwste e-mail of brief, of vraag het uw IT-coördinator.
invite-unknown = Deze link is ongeldig. Controleer of u hem volledig hebt gekopieerd, of vraag uw IT-coördinator om een nieuwe uitnodiging.
invite-login = Naar het inloggen
invite-organisation = Of log in met het account van uw organisatie
notice-welcome = Uw wachtwoord is opgeslagen. Volgende stappen: stel een tweede factor in als uw gemeente dat vraagt, en voeg hieronder uw laptop of telefoon toe.

## Invitations in the console
invitation-send = Uitnodigen
invitation-remind = Herinneren
invitation-revoke = Uitnodiging intrekken
invitations-none = Niemand is uitgenodigd.
invitations-skipped = Niet uitgenodigd: { $names }
invitation-letters-title = Uitnodigingsbrieven
invitation-letters-intro = Druk deze pagina af en geef iedereen zijn eigen link. Hij wordt alleen nu getoond; elke link werkt één keer.
invitation-letter-until = Geldig tot { $until }
invitation-state-queued = e-mail in wachtrij
invitation-state-sent = e-mail verstuurd
invitation-state-failed = e-mail mislukt
invitation-state-letter = brief
invitation-state-used = gebruikt
invitation-state-expired = verlopen
invitation-state-revoked = ingetrokken
skip-reason-activated = al ingelogd
skip-reason-disabled = uitgeschakeld
skip-reason-no_email = geen e-mailadres
skip-reason-too_soon = minder dan een minuut geleden uitgenodigd
confirm-invitation-revoke = De uitnodiging van { $name } intrekken?
confirm-invitation-revoke-what = De link in de e-mail of brief werkt dan niet meer. U kunt { $name } later opnieuw uitnodigen.
notice-invitation-revoked = De uitnodiging is ingetrokken.

## Onboarding progress
onboarding-title = Onboarding
onboarding-intro = Hoe ver de overstap naar thuiswerken is: de verste stap van iedere medewerker. Wie voor een stap meetelt, heeft de stappen ervoor gedaan.
onboarding-employees = Medewerkers
onboarding-step-not_invited = niet uitgenodigd
onboarding-step-invited = uitgenodigd
onboarding-step-activated = ingelogd
onboarding-step-second_factor = tweede factor
onboarding-step-device = apparaat ingesteld
onboarding-step-working = werkt thuis
onboarding-working-share = { $percent } werkt thuis
onboarding-stuck = Werkt nog niet thuis
onboarding-stuck-none = Iedereen werkt thuis.
onboarding-step = Bereikte stap
onboarding-invitation = Uitnodiging
onboarding-invite-outstanding = Iedereen uitnodigen die nog niet heeft ingelogd
onboarding-invite-letters = Brieven afdrukken voor iedereen die nog niet heeft ingelogd
onboarding-remind-outstanding = Iedereen herinneren die nog niet heeft ingelogd
onboarding-overview = Onboarding van alle gemeenten
onboarding-mfa-required = tweede factor vereist
onboarding-tenant = Gemeente
nav-onboarding = Onboarding
notice-invitations-queued = De uitnodigingsmails zijn onderweg; of ze zijn aangekomen, staat hieronder.
policy-reminder-days = Medewerkers die hun uitnodiging niet hebben gebruikt na zoveel dagen herinneren
policy-reminder-hint = Eén keer, met een nieuwe link. Leeg laten voor geen automatische herinneringen.
user-invite = Uitnodigen (een eenmalige link per e-mail of brief) in plaats van een eenmalig wachtwoord te tonen
