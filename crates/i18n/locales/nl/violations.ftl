# Wat er mis is met een veld, per code van de regel.
violation-slug = „{ $value }” is geen geldige korte naam: 2–40 kleine letters, cijfers en streepjes, beginnend met een letter.
violation-slug-reserved = „{ $value }” is gereserveerd voor de adressen van de statuspagina.
violation-empty = Vul dit alstublieft in.
violation-too-long = Maximaal { $max } tekens, alstublieft.
violation-control-characters = Mag geen stuurtekens bevatten.
violation-username = „{ $value }” is geen geldige gebruikersnaam: 2–100 letters, cijfers of . _ - @ +.
violation-email = „{ $value }” is geen e-mailadres.
violation-password-short = Het wachtwoord heeft minstens { $min } tekens nodig.
violation-role-not-grantable = De rol „{ $role }” kan hier niet worden toegekend.
form-errors-title = Er is een probleem
form-errors-intro = Verbeter wat hieronder is gemarkeerd; er is nog niets opgeslagen.
