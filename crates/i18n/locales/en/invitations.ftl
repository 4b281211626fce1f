## Invitation mails
invitation-mail-subject = { $tenant }: your access for working from home
invitation-mail-subject-reminder = Reminder – { $tenant }: your access for working from home
invitation-mail-greeting = Hello { $name },
invitation-mail-reminder = You have not set up your access yet. Your earlier link no longer works; use this one.
invitation-mail-intro = { $tenant } invites you to work from home. Open this link to choose your password; the page then leads you to set up your laptop or phone:
invitation-mail-button = Set up my access
invitation-mail-details = The link works once, until { $until }. Your username: { $username }
invitation-mail-ignore = No password is ever sent by e-mail. If you did not expect this mail, tell your IT coordinator.

## The invitation page
invite-title = Welcome to { $tenant }
invite-intro = Hello { $name }, choose your password. You will log in with it from now on.
invite-username = Your username: { $username }
invite-password = New password
invite-password-repeat = Repeat the password
invite-submit = Save password and continue
invite-mismatch = The two passwords differ. Type the same password twice.
invite-password-short = The password needs at least 12 characters.
invite-expired-title = This link no longer works
invite-expired = The link expired on { $until }. Ask your IT coordinator for a new invitation.
invite-used = This link was used already. Log in with your username and the password you chose.
invite-revoked = This link was replaced by a newer invitation or withdrawn. Use the newest mail or letter, or ask your IT coordinator.
invite-unknown = This link is not valid. Check that you copied it completely, or ask your IT coordinator for a new invitation.
invite-login = Go to the login
invite-organisation = Or log in with your organisation's account
notice-welcome = Your password is saved. Next steps: set up a second factor if your municipality asks for one, then add your laptop or phone below.

## Invitations in the console
invitation-send = Invite
invitation-remind = Remind
invitation-revoke = Withdraw invitation
invitations-none = Nobody was invited.
invitations-skipped = Not invited: { $names }
invitation-letters-title = Invitation letters
invitation-letters-intro = Print this page and hand each person their link. It is shown only now; each link works once.
invitation-letter-until = Valid until { $until }
invitation-state-queued = mail queued
invitation-state-sent = mail sent
invitation-state-failed = mail failed
invitation-state-letter = letter
invitation-state-used = used
invitation-state-expired = expired
invitation-state-revoked = withdrawn
skip-reason-activated = already logged in
skip-reason-disabled = disabled
skip-reason-no_email = no e-mail address
skip-reason-too_soon = invited less than a minute ago
confirm-invitation-revoke = Withdraw the invitation of { $name }?
confirm-invitation-revoke-what = The link in the mail or letter stops working. You can invite { $name } again later.
notice-invitation-revoked = The invitation was withdrawn.

## Onboarding progress
onboarding-title = Onboarding
onboarding-intro = How far the move home has come: each employee's furthest step. Everyone counted for a step has done the steps before it.
onboarding-employees = Employees
onboarding-step-not_invited = not invited
onboarding-step-invited = invited
onboarding-step-activated = logged in
onboarding-step-second_factor = second factor
onboarding-step-device = device set up
onboarding-step-working = working from home
onboarding-working-share = { $percent } working from home
onboarding-stuck = Not working from home yet
onboarding-stuck-none = Everyone works from home.
onboarding-step = Step reached
onboarding-invitation = Invitation
onboarding-invite-outstanding = Invite everyone not logged in yet
onboarding-invite-letters = Print letters for everyone not logged in yet
onboarding-remind-outstanding = Remind everyone not logged in yet
onboarding-overview = Onboarding of all municipalities
onboarding-mfa-required = second factor required
onboarding-tenant = Municipality
nav-onboarding = Onboarding
notice-invitations-queued = The invitation mails are on their way; whether they arrived shows below.
policy-reminder-days = Remind employees who have not used their invitation after this many days
policy-reminder-hint = Once, with a new link. Leave empty for no automatic reminders.
user-invite = Invite them (a one-time link by e-mail, or a letter) instead of showing a one-time password
