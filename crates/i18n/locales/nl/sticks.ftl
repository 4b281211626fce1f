# Brieven bij de thuiswerksticks en het leesmij-bestand op de stick.
stick-letter-title = Uw thuiswerkstick
stick-letter-from = { $tenant } · IT-afdeling
stick-letter-greeting = Beste { $name },
stick-letter-greeting-anonymous = Beste collega,
stick-letter-intro = Hierbij ontvangt u uw persoonlijke thuiswerkstick. Daarmee maakt uw computer thuis een veilige verbinding met de applicaties van { $tenant }.
stick-letter-steps-title = Zo begint u
stick-letter-step-1 = Steek de stick in uw computer.
stick-letter-step-2 = Open de stick en volg de aanwijzingen in LEESMIJ.TXT. De stick richt zichzelf de eerste keer in; dat hoeft maar één keer.
stick-letter-step-3 = Zodra "verbonden" verschijnt, opent u uw applicaties zoals op kantoor.
stick-letter-step-4 = Voor hulp, of om uw telefoon toe te voegen, logt u in op het medewerkersportaal met de QR-code hieronder.
stick-letter-details = Uw stick
stick-letter-stick-id = Sticknummer
stick-letter-municipality = Gemeente
stick-letter-valid-until = Inrichten vóór
stick-letter-portal = Medewerkersportaal
stick-letter-qr-caption = Scan de code met de camera van uw telefoon om het medewerkersportaal te openen:
stick-letter-lost = Stick kwijt? Meld het direct bij uw IT-afdeling: hij wordt binnen een seconde geblokkeerd. Een stick kan maar één keer worden ingericht; na u kan niemand hem meer gebruiken.
stick-letter-closing = Met vriendelijke groet, uw IT-afdeling
stick-readme =
    homegate thuiswerkstick

    Deze stick verbindt uw computer met { $tenant }.
    Hij bevat geen wachtwoord en geen sleutel: hij kan één keer worden
    ingericht en is daarna waardeloos.

    Om hem in te richten installeert u de homegate-client en start u:

        homegate enroll --bundle <map van deze stick>

    daarna maakt u verbinding met:

        homegate up

    Hulp: { $portal }
stick-readme-file = LEESMIJ.TXT
cli-sticks-preparing = { $count ->
    [one] 1 stick
   *[other] { $count } sticks
} voor { $tenant } worden voorbereid in het controlepaneel…
cli-sticks-wrote = { $count ->
    [one] 1 stick
   *[other] { $count } sticks
} geschreven naar { $out } in { $seconds } s ({ $per_stick } ms per stick): images/, letters/, letters.pdf, bundles/, manifest.csv
cli-sticks-cancelled = Batch { $batch } geannuleerd: { $count ->
    [one] de stick en het token zijn
   *[other] de { $count } sticks en tokens zijn
} weg.
cli-csv-problems = { $file } heeft { $count ->
    [one] 1 probleem
   *[other] { $count } problemen
}: { $problems }
cli-csv-ignored = { $count ->
    [one] De kolom
   *[other] { $count } kolommen
} van { $file } die homegate niet gebruikt { $count ->
    [one] is
   *[other] zijn
} genegeerd: { $columns }
