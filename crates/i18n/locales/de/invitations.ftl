## Invitation mails
invitation-mail-subject = { $tenant }: Ihr Zugang für die Arbeit von zu Hause
invitation-mail-subject-reminder = Erinnerung – { $tenant }: Ihr Zugang für die Arbeit von zu Hause
invitation-mail-greeting = Guten Tag { $name },
invitation-mail-reminder = Sie haben Ihren Zugang noch nicht eingerichtet. Ihr früherer Link gilt nicht mehr; bitte nutzen Sie diesen.
invitation-mail-intro = { $tenant } lädt Sie ein, von zu Hause zu arbeiten. Öffnen Sie diesen Link und wählen Sie Ihr Passwort; danach führt Sie die Seite durch die Einrichtung Ihres Laptops oder Telefons:
invitation-mail-button = Zugang einrichten
invitation-mail-details = Der Link gilt einmal, bis { $until }. Ihr Benutzername: { $username }
invitation-mail-ignore = Passwörter werden nie per E-Mail verschickt. Wenn Sie diese E-Mail nicht erwartet haben, sagen Sie bitte Ihrer IT-Koordination Bescheid.

## The invitation page
invite-title = Willkommen bei { $tenant }
invite-intro = Guten Tag { $name }, wählen Sie Ihr Passwort. Damit melden Sie sich künftig an.
invite-username = Ihr Benutzername: { $username }
invite-password = Neues Passwort
invite-password-repeat = Passwort wiederholen
invite-submit = Passwort speichern und weiter
invite-mismatch = Die beiden Passwörter sind verschieden. Geben Sie zweimal dasselbe Passwort ein.
invite-password-short = Das Passwort braucht mindestens 12 Zeichen.
invite-expired-title = Dieser Link gilt nicht mehr
invite-expired = Der Link ist am { $until } abgelaufen. Bitten Sie Ihre IT-Koordination um eine neue Einladung.
invite-used = Dieser Link wurde schon benutzt. Melden Sie sich mit Ihrem Benutzernamen und dem gewählten Passwort an.
invite-revoked = Dieser Link wurde durch eine neuere Einladung ersetzt oder zurückgezogen. Nutzen Sie die neueste E-Mail oder den neuesten Brief, oder fragen Sie Ihre IT-Koordination.
invite-unknown = Dieser Link ist ungültig. Prüfen Sie, ob Sie ihn vollständig kopiert haben, oder bitten Sie Ihre IT-Koordination um eine neue Einladung.
invite-login = Zur Anmeldung
invite-organisation = Oder mit dem Konto Ihrer Organisation anmelden
notice-welcome = Ihr Passwort ist gespeichert. Nächste Schritte: Richten Sie einen zweiten Faktor ein, falls Ihre Kommune das verlangt, und fügen Sie unten Ihren Laptop oder Ihr Telefon hinzu.

## Invitations in the console
invitation-send = Einladen
invitation-remind = Erinnern
invitation-revoke = Einladung zurückziehen
invitations-none = Niemand wurde eingeladen.
invitations-skipped = Nicht eingeladen: { $names }
invitation-letters-title = Einladungsbriefe
invitation-letters-intro = Drucken Sie diese Seite und geben Sie jeder Person ihren Link. Er wird nur jetzt angezeigt; jeder Link gilt einmal.
invitation-letter-until = Gültig bis { $until }
invitation-state-queued = E-Mail in Warteschlange
invitation-state-sent = E-Mail verschickt
invitation-state-failed = E-Mail fehlgeschlagen
invitation-state-letter = Brief
invitation-state-used = benutzt
invitation-state-expired = abgelaufen
invitation-state-revoked = zurückgezogen
skip-reason-activated = schon angemeldet
skip-reason-disabled = deaktiviert
skip-reason-no_email = keine E-Mail-Adresse
skip-reason-too_soon = vor weniger als einer Minute eingeladen
confirm-invitation-revoke = Einladung von { $name } zurückziehen?
confirm-invitation-revoke-what = Der Link in der E-Mail oder im Brief funktioniert dann nicht mehr. Sie können { $name } später erneut einladen.
notice-invitation-revoked = Die Einladung wurde zurückgezogen.

## Onboarding progress
onboarding-title = Einrichtung
onboarding-intro = Wie weit der Umzug ins Homeoffice ist: der weiteste Schritt jeder Person. Wer für einen Schritt zählt, hat die Schritte davor erledigt.
onboarding-employees = Beschäftigte
onboarding-step-not_invited = nicht eingeladen
onboarding-step-invited = eingeladen
onboarding-step-activated = angemeldet
onboarding-step-second_factor = zweiter Faktor
onboarding-step-device = Gerät eingerichtet
onboarding-step-working = arbeitet von zu Hause
onboarding-working-share = { $percent } arbeiten von zu Hause
onboarding-stuck = Noch nicht im Homeoffice
onboarding-stuck-none = Alle arbeiten von zu Hause.
onboarding-step = Erreichter Schritt
onboarding-invitation = Einladung
onboarding-invite-outstanding = Alle noch nicht Angemeldeten einladen
onboarding-invite-letters = Briefe für alle noch nicht Angemeldeten drucken
onboarding-remind-outstanding = Alle noch nicht Angemeldeten erinnern
onboarding-overview = Einrichtung aller Kommunen
onboarding-mfa-required = zweiter Faktor verlangt
onboarding-tenant = Kommune
nav-onboarding = Einrichtung
notice-invitations-queued = Die Einladungs-E-Mails sind unterwegs; ob sie angekommen sind, steht unten.
policy-reminder-days = Beschäftigte, die ihre Einladung nicht genutzt haben, nach so vielen Tagen erinnern
policy-reminder-hint = Einmal, mit einem neuen Link. Leer lassen für keine automatischen Erinnerungen.
user-invite = Einladen (ein einmaliger Link per E-Mail oder Brief), statt ein Einmalpasswort anzuzeigen
