# Letters that go with home-office sticks, and the read-me on the stick.
stick-letter-title = Your home-office stick
stick-letter-from = { $tenant } · IT department
stick-letter-greeting = Dear { $name },
stick-letter-greeting-anonymous = Dear colleague,
stick-letter-intro = Enclosed is your personal home-office stick. With it, your computer at home connects securely to the applications of { $tenant }.
stick-letter-steps-title = How to start
stick-letter-step-1 = Insert the stick into your computer.
stick-letter-step-2 = Open the stick and follow the instructions in READ-ME.TXT. The stick sets itself up the first time; you do this only once.
stick-letter-step-3 = When it says "connected", open your applications as you would in the office.
stick-letter-step-4 = For help, or to add your phone, sign in to the employee portal with the QR code below.
stick-letter-details = Your stick
stick-letter-stick-id = Stick number
stick-letter-municipality = Municipality
stick-letter-valid-until = Set up before
stick-letter-portal = Employee portal
stick-letter-qr-caption = Scan the code with your phone's camera to open the employee portal:
stick-letter-lost = Lost the stick? Tell your IT department at once: it will be blocked within a second. A stick can be set up only once, so nobody else can use it after you.
stick-letter-closing = Kind regards, your IT department
stick-readme =
    homegate home-office stick

    This stick connects your computer to { $tenant }.
    It holds no password and no key: it can be set up once, and it is
    useless after that.

    To set it up, install the homegate client and run:

        homegate enroll --bundle <folder of this stick>

    then connect with:

        homegate up

    Help: { $portal }
stick-readme-file = READ-ME.TXT
cli-sticks-preparing = Preparing { $count ->
    [one] 1 stick
   *[other] { $count } sticks
} for { $tenant } in the control plane…
cli-sticks-wrote = Wrote { $count ->
    [one] 1 stick
   *[other] { $count } sticks
} to { $out } in { $seconds } s ({ $per_stick } ms per stick): images/, letters/, letters.pdf, bundles/, manifest.csv
cli-sticks-cancelled = Cancelled batch { $batch }: its { $count ->
    [one] stick and token are
   *[other] { $count } sticks and tokens are
} gone.
cli-csv-problems = { $file } has { $count ->
    [one] 1 problem
   *[other] { $count } problems
}: { $problems }
cli-csv-ignored = Ignored { $count ->
    [one] the column
   *[other] { $count } columns
} of { $file } that homegate does not use: { $columns }
