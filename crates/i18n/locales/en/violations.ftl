# What is wrong with a field, by the store's violation code.
violation-slug = “{ $value }” is not a valid short name: use 2–40 lowercase letters, digits and dashes, starting with a letter.
violation-slug-reserved = “{ $value }” is reserved for the status page's own addresses.
violation-empty = Please fill this in.
violation-too-long = At most { $max } characters, please.
violation-control-characters = Must not contain control characters.
violation-username = “{ $value }” is not a valid user name: use 2–100 letters, digits or . _ - @ +.
violation-email = “{ $value }” is not an e-mail address.
violation-password-short = The password needs at least { $min } characters.
violation-role-not-grantable = The role “{ $role }” cannot be given here.
form-errors-title = There is a problem
form-errors-intro = Please correct what is marked below; nothing has been saved yet.
