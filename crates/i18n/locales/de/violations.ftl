# Was an einem Feld falsch ist, nach dem Code der Regel.
violation-slug = „{ $value }“ ist kein gültiger Kurzname: 2–40 Kleinbuchstaben, Ziffern und Bindestriche, beginnend mit einem Buchstaben.
violation-slug-reserved = „{ $value }“ ist für die Adressen der Statusseite reserviert.
violation-empty = Bitte ausfüllen.
violation-too-long = Höchstens { $max } Zeichen, bitte.
violation-control-characters = Darf keine Steuerzeichen enthalten.
violation-username = „{ $value }“ ist kein gültiger Benutzername: 2–100 Buchstaben, Ziffern oder . _ - @ +.
violation-email = „{ $value }“ ist keine E-Mail-Adresse.
violation-password-short = Das Passwort braucht mindestens { $min } Zeichen.
violation-role-not-grantable = Die Rolle „{ $role }“ kann hier nicht vergeben werden.
form-errors-title = Es gibt ein Problem
form-errors-intro = Bitte korrigieren Sie das Markierte; noch ist nichts gespeichert.
