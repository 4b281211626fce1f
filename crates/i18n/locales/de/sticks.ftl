# Briefe zu den Homeoffice-Sticks und die Lies-mich-Datei auf dem Stick.
stick-letter-title = Ihr Homeoffice-Stick
stick-letter-from = { $tenant } · IT-Abteilung
stick-letter-greeting = Guten Tag { $name },
stick-letter-greeting-anonymous = Liebe Kollegin, lieber Kollege,
stick-letter-intro = anbei erhalten Sie Ihren persönlichen Homeoffice-Stick. Damit verbindet sich Ihr Computer zu Hause sicher mit den Anwendungen von { $tenant }.
stick-letter-steps-title = So fangen Sie an
stick-letter-step-1 = Stecken Sie den Stick in Ihren Computer.
stick-letter-step-2 = Öffnen Sie den Stick und folgen Sie den Hinweisen in LIES-MICH.TXT. Der Stick richtet sich beim ersten Mal selbst ein; das ist nur einmal nötig.
stick-letter-step-3 = Sobald „verbunden“ erscheint, öffnen Sie Ihre Anwendungen wie im Büro.
stick-letter-step-4 = Hilfe und die Einrichtung Ihres Telefons finden Sie im Mitarbeiterportal (QR-Code unten).
stick-letter-details = Ihr Stick
stick-letter-stick-id = Sticknummer
stick-letter-municipality = Gemeinde
stick-letter-valid-until = Einrichten bis
stick-letter-portal = Mitarbeiterportal
stick-letter-qr-caption = Scannen Sie den Code mit der Kamera Ihres Telefons, um das Mitarbeiterportal zu öffnen:
stick-letter-lost = Stick verloren? Melden Sie es sofort Ihrer IT-Abteilung: Er wird innerhalb einer Sekunde gesperrt. Ein Stick lässt sich nur einmal einrichten; nach Ihnen kann ihn niemand mehr benutzen.
stick-letter-closing = Mit freundlichen Grüßen, Ihre IT-Abteilung
stick-readme =
    homegate Homeoffice-Stick

    Dieser Stick verbindet Ihren Computer mit { $tenant }.
    Er enthält kein Passwort und keinen Schlüssel: Er lässt sich einmal
    einrichten und ist danach wertlos.

    Zum Einrichten installieren Sie den homegate-Client und starten:

        homegate enroll --bundle <Ordner dieses Sticks>

    danach verbinden Sie sich mit:

        homegate up

    Hilfe: { $portal }
stick-readme-file = LIES-MICH.TXT
cli-sticks-preparing = { $count ->
    [one] 1 Stick
   *[other] { $count } Sticks
} für { $tenant } werden in der Steuerung vorbereitet…
cli-sticks-wrote = { $count ->
    [one] 1 Stick
   *[other] { $count } Sticks
} in { $seconds } s nach { $out } geschrieben ({ $per_stick } ms pro Stick): images/, letters/, letters.pdf, bundles/, manifest.csv
cli-sticks-cancelled = Charge { $batch } storniert: { $count ->
    [one] ihr Stick und sein Token sind
   *[other] ihre { $count } Sticks und Tokens sind
} gelöscht.
cli-csv-problems = { $file } hat { $count ->
    [one] 1 Problem
   *[other] { $count } Probleme
}: { $problems }
cli-csv-ignored = { $count ->
    [one] Die Spalte
   *[other] { $count } Spalten
} von { $file }, die homegate nicht verwendet, { $count ->
    [one] wurde
   *[other] wurden
} ignoriert: { $columns }
