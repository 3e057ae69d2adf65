# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_twofactl_global_optspecs
    string join \n db= config= profile= format= y/yes no-input q/quiet v/verbose h/help V/version
end

function __fish_twofactl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_twofactl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_twofactl_using_subcommand
    set -l cmd (__fish_twofactl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c twofactl -n "__fish_twofactl_needs_command" -l db -d 'The application\'s SQLite database, or its PostgreSQL database as a postgres:// URL' -r -F
complete -c twofactl -n "__fish_twofactl_needs_command" -l config -d 'Config file [default: /etc/twofactl/config.toml, then $XDG_CONFIG_HOME/twofactl/config.toml]' -r -F
complete -c twofactl -n "__fish_twofactl_needs_command" -l profile -d 'The application\'s profile (default, kanboard, wallabag, django-otp, vaultwarden, gitea, forgejo, nextcloud); overrides [schema] profile' -r
complete -c twofactl -n "__fish_twofactl_needs_command" -l format -d 'Output format; `json` prints machine-readable output on stdout (`csv`: list-users only)' -r -f -a "text\t'Aligned text for people'
json\t'JSON (JSON Lines for list-users, admin-reset and audit)'
csv\t'Comma-separated values with a header row (list-users only)'"
complete -c twofactl -n "__fish_twofactl_needs_command" -s y -l yes -d 'Answer yes to confirmations'
complete -c twofactl -n "__fish_twofactl_needs_command" -l no-input -d 'Never prompt; a needed answer that no flag gave is a usage error (implied when stdin is not a terminal)'
complete -c twofactl -n "__fish_twofactl_needs_command" -s q -l quiet -d 'Print less on stderr'
complete -c twofactl -n "__fish_twofactl_needs_command" -s v -l verbose -d 'Print more on stderr'
complete -c twofactl -n "__fish_twofactl_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c twofactl -n "__fish_twofactl_needs_command" -s V -l version -d 'Print version'
complete -c twofactl -n "__fish_twofactl_needs_command" -f -a "request-reset" -d 'Step 1 of a self-service reset: check the user\'s password and e-mail a one-time code'
complete -c twofactl -n "__fish_twofactl_needs_command" -f -a "verify" -d 'Step 2 of a self-service reset: check the e-mailed code and clear the user\'s 2FA'
complete -c twofactl -n "__fish_twofactl_needs_command" -f -a "enroll" -d 'Make a new TOTP key for a user, show it as a QR code, and confirm it with a first code'
complete -c twofactl -n "__fish_twofactl_needs_command" -f -a "list-users" -d 'List users and their 2FA state (never their secrets)'
complete -c twofactl -n "__fish_twofactl_needs_command" -f -a "admin-reset" -d 'Clear the 2FA of one user or many, with a reason and an audit record'
complete -c twofactl -n "__fish_twofactl_needs_command" -f -a "audit" -d 'Read twofactl\'s audit log'
complete -c twofactl -n "__fish_twofactl_needs_command" -f -a "outbox" -d 'Show or deliver notification e-mails that could not be sent'
complete -c twofactl -n "__fish_twofactl_needs_command" -f -a "doctor" -d 'Check the database, the schema mapping and the mail server, without sending mail'
complete -c twofactl -n "__fish_twofactl_needs_command" -f -a "demo" -d 'Make a sandbox (a sample application database and a config) to try twofactl on'
complete -c twofactl -n "__fish_twofactl_needs_command" -f -a "completions" -d 'Print the completion script for a shell (bash, zsh, fish, powershell, elvish)'
complete -c twofactl -n "__fish_twofactl_needs_command" -f -a "man" -d 'Write the man pages (twofactl(1), one per command, twofactl.toml(5)) under DIR'
complete -c twofactl -n "__fish_twofactl_using_subcommand request-reset" -l db -d 'The application\'s SQLite database, or its PostgreSQL database as a postgres:// URL' -r -F
complete -c twofactl -n "__fish_twofactl_using_subcommand request-reset" -l config -d 'Config file [default: /etc/twofactl/config.toml, then $XDG_CONFIG_HOME/twofactl/config.toml]' -r -F
complete -c twofactl -n "__fish_twofactl_using_subcommand request-reset" -l profile -d 'The application\'s profile (default, kanboard, wallabag, django-otp, vaultwarden, gitea, forgejo, nextcloud); overrides [schema] profile' -r
complete -c twofactl -n "__fish_twofactl_using_subcommand request-reset" -l format -d 'Output format; `json` prints machine-readable output on stdout (`csv`: list-users only)' -r -f -a "text\t'Aligned text for people'
json\t'JSON (JSON Lines for list-users, admin-reset and audit)'
csv\t'Comma-separated values with a header row (list-users only)'"
complete -c twofactl -n "__fish_twofactl_using_subcommand request-reset" -l password-stdin -d 'Read the user\'s password from the first line of stdin (at most 4 KiB) instead of prompting'
complete -c twofactl -n "__fish_twofactl_using_subcommand request-reset" -s y -l yes -d 'Answer yes to confirmations'
complete -c twofactl -n "__fish_twofactl_using_subcommand request-reset" -l no-input -d 'Never prompt; a needed answer that no flag gave is a usage error (implied when stdin is not a terminal)'
complete -c twofactl -n "__fish_twofactl_using_subcommand request-reset" -s q -l quiet -d 'Print less on stderr'
complete -c twofactl -n "__fish_twofactl_using_subcommand request-reset" -s v -l verbose -d 'Print more on stderr'
complete -c twofactl -n "__fish_twofactl_using_subcommand request-reset" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c twofactl -n "__fish_twofactl_using_subcommand request-reset" -s V -l version -d 'Print version'
complete -c twofactl -n "__fish_twofactl_using_subcommand verify" -l qr-png -d 'Write the QR code as a PNG image to FILE (mode 0600, atomically)' -r -F
complete -c twofactl -n "__fish_twofactl_using_subcommand verify" -l qr-svg -d 'Write the QR code as an SVG image to FILE (mode 0600, atomically)' -r -F
complete -c twofactl -n "__fish_twofactl_using_subcommand verify" -l qr-size -d 'Pixels per QR module in --qr-png and --qr-svg (at least 4: smaller codes do not scan reliably from a screen or print)' -r
complete -c twofactl -n "__fish_twofactl_using_subcommand verify" -l db -d 'The application\'s SQLite database, or its PostgreSQL database as a postgres:// URL' -r -F
complete -c twofactl -n "__fish_twofactl_using_subcommand verify" -l config -d 'Config file [default: /etc/twofactl/config.toml, then $XDG_CONFIG_HOME/twofactl/config.toml]' -r -F
complete -c twofactl -n "__fish_twofactl_using_subcommand verify" -l profile -d 'The application\'s profile (default, kanboard, wallabag, django-otp, vaultwarden, gitea, forgejo, nextcloud); overrides [schema] profile' -r
complete -c twofactl -n "__fish_twofactl_using_subcommand verify" -l format -d 'Output format; `json` prints machine-readable output on stdout (`csv`: list-users only)' -r -f -a "text\t'Aligned text for people'
json\t'JSON (JSON Lines for list-users, admin-reset and audit)'
csv\t'Comma-separated values with a header row (list-users only)'"
complete -c twofactl -n "__fish_twofactl_using_subcommand verify" -l code-stdin -d 'Read the code from the first line of stdin'
complete -c twofactl -n "__fish_twofactl_using_subcommand verify" -l enroll -d 'Go straight on to enrolling a new authenticator (takes enroll\'s QR options)'
complete -c twofactl -n "__fish_twofactl_using_subcommand verify" -l qr-terminal -d 'Print the QR code in the terminal (the default when stdout is a terminal)'
complete -c twofactl -n "__fish_twofactl_using_subcommand verify" -l show-secret -d 'Print the key (in groups of four) and the otpauth URI, for typing into the app by hand'
complete -c twofactl -n "__fish_twofactl_using_subcommand verify" -l force -d 'Replace a pending key or an active authenticator (with --reason), and overwrite existing QR files (regular files only)'
complete -c twofactl -n "__fish_twofactl_using_subcommand verify" -s y -l yes -d 'Answer yes to confirmations'
complete -c twofactl -n "__fish_twofactl_using_subcommand verify" -l no-input -d 'Never prompt; a needed answer that no flag gave is a usage error (implied when stdin is not a terminal)'
complete -c twofactl -n "__fish_twofactl_using_subcommand verify" -s q -l quiet -d 'Print less on stderr'
complete -c twofactl -n "__fish_twofactl_using_subcommand verify" -s v -l verbose -d 'Print more on stderr'
complete -c twofactl -n "__fish_twofactl_using_subcommand verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c twofactl -n "__fish_twofactl_using_subcommand verify" -s V -l version -d 'Print version'
complete -c twofactl -n "__fish_twofactl_using_subcommand enroll" -l code -d 'Confirm the pending key with a code from the authenticator app (no new key is made)' -r
complete -c twofactl -n "__fish_twofactl_using_subcommand enroll" -l reason -d 'Why an active authenticator is replaced (needed with --force on a user whose 2FA is active; recorded in the audit log; prompted in a terminal)' -r
complete -c twofactl -n "__fish_twofactl_using_subcommand enroll" -l actor -d 'The application administrator on whose behalf an active authenticator is replaced' -r
complete -c twofactl -n "__fish_twofactl_using_subcommand enroll" -l qr-png -d 'Write the QR code as a PNG image to FILE (mode 0600, atomically)' -r -F
complete -c twofactl -n "__fish_twofactl_using_subcommand enroll" -l qr-svg -d 'Write the QR code as an SVG image to FILE (mode 0600, atomically)' -r -F
complete -c twofactl -n "__fish_twofactl_using_subcommand enroll" -l qr-size -d 'Pixels per QR module in --qr-png and --qr-svg (at least 4: smaller codes do not scan reliably from a screen or print)' -r
complete -c twofactl -n "__fish_twofactl_using_subcommand enroll" -l db -d 'The application\'s SQLite database, or its PostgreSQL database as a postgres:// URL' -r -F
complete -c twofactl -n "__fish_twofactl_using_subcommand enroll" -l config -d 'Config file [default: /etc/twofactl/config.toml, then $XDG_CONFIG_HOME/twofactl/config.toml]' -r -F
complete -c twofactl -n "__fish_twofactl_using_subcommand enroll" -l profile -d 'The application\'s profile (default, kanboard, wallabag, django-otp, vaultwarden, gitea, forgejo, nextcloud); overrides [schema] profile' -r
complete -c twofactl -n "__fish_twofactl_using_subcommand enroll" -l format -d 'Output format; `json` prints machine-readable output on stdout (`csv`: list-users only)' -r -f -a "text\t'Aligned text for people'
json\t'JSON (JSON Lines for list-users, admin-reset and audit)'
csv\t'Comma-separated values with a header row (list-users only)'"
complete -c twofactl -n "__fish_twofactl_using_subcommand enroll" -l code-stdin -d 'Confirm the pending key with a code read from the first line of stdin'
complete -c twofactl -n "__fish_twofactl_using_subcommand enroll" -l allow-admin -d 'Allow replacing the active authenticator of an administrator of the application'
complete -c twofactl -n "__fish_twofactl_using_subcommand enroll" -l qr-terminal -d 'Print the QR code in the terminal (the default when stdout is a terminal)'
complete -c twofactl -n "__fish_twofactl_using_subcommand enroll" -l show-secret -d 'Print the key (in groups of four) and the otpauth URI, for typing into the app by hand'
complete -c twofactl -n "__fish_twofactl_using_subcommand enroll" -l force -d 'Replace a pending key or an active authenticator (with --reason), and overwrite existing QR files (regular files only)'
complete -c twofactl -n "__fish_twofactl_using_subcommand enroll" -s y -l yes -d 'Answer yes to confirmations'
complete -c twofactl -n "__fish_twofactl_using_subcommand enroll" -l no-input -d 'Never prompt; a needed answer that no flag gave is a usage error (implied when stdin is not a terminal)'
complete -c twofactl -n "__fish_twofactl_using_subcommand enroll" -s q -l quiet -d 'Print less on stderr'
complete -c twofactl -n "__fish_twofactl_using_subcommand enroll" -s v -l verbose -d 'Print more on stderr'
complete -c twofactl -n "__fish_twofactl_using_subcommand enroll" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c twofactl -n "__fish_twofactl_using_subcommand enroll" -s V -l version -d 'Print version'
complete -c twofactl -n "__fish_twofactl_using_subcommand list-users" -l status -d 'Only users in this 2FA state' -r -f -a "enabled\t'An authenticator is active: the application asks for a code at login'
pending\t'A new key awaits confirmation with a first code'
disabled\t'No authenticator'"
complete -c twofactl -n "__fish_twofactl_using_subcommand list-users" -l match -d 'Only users whose username or e-mail contains PATTERN (case-insensitive, no wildcards)' -r
complete -c twofactl -n "__fish_twofactl_using_subcommand list-users" -l limit -d 'Print at most N users' -r
complete -c twofactl -n "__fish_twofactl_using_subcommand list-users" -l db -d 'The application\'s SQLite database, or its PostgreSQL database as a postgres:// URL' -r -F
complete -c twofactl -n "__fish_twofactl_using_subcommand list-users" -l config -d 'Config file [default: /etc/twofactl/config.toml, then $XDG_CONFIG_HOME/twofactl/config.toml]' -r -F
complete -c twofactl -n "__fish_twofactl_using_subcommand list-users" -l profile -d 'The application\'s profile (default, kanboard, wallabag, django-otp, vaultwarden, gitea, forgejo, nextcloud); overrides [schema] profile' -r
complete -c twofactl -n "__fish_twofactl_using_subcommand list-users" -l format -d 'Output format; `json` prints machine-readable output on stdout (`csv`: list-users only)' -r -f -a "text\t'Aligned text for people'
json\t'JSON (JSON Lines for list-users, admin-reset and audit)'
csv\t'Comma-separated values with a header row (list-users only)'"
complete -c twofactl -n "__fish_twofactl_using_subcommand list-users" -l admins -d 'Only the application\'s administrators'
complete -c twofactl -n "__fish_twofactl_using_subcommand list-users" -s y -l yes -d 'Answer yes to confirmations'
complete -c twofactl -n "__fish_twofactl_using_subcommand list-users" -l no-input -d 'Never prompt; a needed answer that no flag gave is a usage error (implied when stdin is not a terminal)'
complete -c twofactl -n "__fish_twofactl_using_subcommand list-users" -s q -l quiet -d 'Print less on stderr'
complete -c twofactl -n "__fish_twofactl_using_subcommand list-users" -s v -l verbose -d 'Print more on stderr'
complete -c twofactl -n "__fish_twofactl_using_subcommand list-users" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c twofactl -n "__fish_twofactl_using_subcommand list-users" -s V -l version -d 'Print version'
complete -c twofactl -n "__fish_twofactl_using_subcommand admin-reset" -l from-file -d 'Read users from FILE, one per line (`-` for stdin; blank lines and `#` comments skipped)' -r -F
complete -c twofactl -n "__fish_twofactl_using_subcommand admin-reset" -l reason -d 'Why the 2FA is reset, on one line (no control characters); recorded in the audit log (prompted in a terminal)' -r
complete -c twofactl -n "__fish_twofactl_using_subcommand admin-reset" -l actor -d 'The application administrator on whose behalf the reset is made (must have is_admin = 1)' -r
complete -c twofactl -n "__fish_twofactl_using_subcommand admin-reset" -l db -d 'The application\'s SQLite database, or its PostgreSQL database as a postgres:// URL' -r -F
complete -c twofactl -n "__fish_twofactl_using_subcommand admin-reset" -l config -d 'Config file [default: /etc/twofactl/config.toml, then $XDG_CONFIG_HOME/twofactl/config.toml]' -r -F
complete -c twofactl -n "__fish_twofactl_using_subcommand admin-reset" -l profile -d 'The application\'s profile (default, kanboard, wallabag, django-otp, vaultwarden, gitea, forgejo, nextcloud); overrides [schema] profile' -r
complete -c twofactl -n "__fish_twofactl_using_subcommand admin-reset" -l format -d 'Output format; `json` prints machine-readable output on stdout (`csv`: list-users only)' -r -f -a "text\t'Aligned text for people'
json\t'JSON (JSON Lines for list-users, admin-reset and audit)'
csv\t'Comma-separated values with a header row (list-users only)'"
complete -c twofactl -n "__fish_twofactl_using_subcommand admin-reset" -l allow-admin -d 'Allow resetting users who are administrators of the application'
complete -c twofactl -n "__fish_twofactl_using_subcommand admin-reset" -l skip-missing -d 'Skip users that do not exist instead of stopping with nothing changed'
complete -c twofactl -n "__fish_twofactl_using_subcommand admin-reset" -l dry-run -d 'Show what would be reset; change nothing'
complete -c twofactl -n "__fish_twofactl_using_subcommand admin-reset" -l no-notify -d 'Do not e-mail the reset users (the audit log records that they were not notified)'
complete -c twofactl -n "__fish_twofactl_using_subcommand admin-reset" -l show-reason -d 'Include the reason in the e-mail to each user'
complete -c twofactl -n "__fish_twofactl_using_subcommand admin-reset" -s y -l yes -d 'Answer yes to confirmations'
complete -c twofactl -n "__fish_twofactl_using_subcommand admin-reset" -l no-input -d 'Never prompt; a needed answer that no flag gave is a usage error (implied when stdin is not a terminal)'
complete -c twofactl -n "__fish_twofactl_using_subcommand admin-reset" -s q -l quiet -d 'Print less on stderr'
complete -c twofactl -n "__fish_twofactl_using_subcommand admin-reset" -s v -l verbose -d 'Print more on stderr'
complete -c twofactl -n "__fish_twofactl_using_subcommand admin-reset" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c twofactl -n "__fish_twofactl_using_subcommand admin-reset" -s V -l version -d 'Print version'
complete -c twofactl -n "__fish_twofactl_using_subcommand audit" -l user -d 'Only records about this user (username or e-mail address)' -r
complete -c twofactl -n "__fish_twofactl_using_subcommand audit" -l action -d 'Only records of this action' -r -f -a "request-reset\t'A self-service reset request (password check, code e-mailed)'
verify\t'A self-service reset with the e-mailed code'
enroll\t'A new key made or confirmed'
admin-reset\t'An administrative reset'"
complete -c twofactl -n "__fish_twofactl_using_subcommand audit" -l since -d 'Only records since TIME: an RFC 3339 time or date (2026-11-01), or an age (7d, 12h)' -r
complete -c twofactl -n "__fish_twofactl_using_subcommand audit" -l limit -d 'Print at most N records (the newest)' -r
complete -c twofactl -n "__fish_twofactl_using_subcommand audit" -l db -d 'The application\'s SQLite database, or its PostgreSQL database as a postgres:// URL' -r -F
complete -c twofactl -n "__fish_twofactl_using_subcommand audit" -l config -d 'Config file [default: /etc/twofactl/config.toml, then $XDG_CONFIG_HOME/twofactl/config.toml]' -r -F
complete -c twofactl -n "__fish_twofactl_using_subcommand audit" -l profile -d 'The application\'s profile (default, kanboard, wallabag, django-otp, vaultwarden, gitea, forgejo, nextcloud); overrides [schema] profile' -r
complete -c twofactl -n "__fish_twofactl_using_subcommand audit" -l format -d 'Output format; `json` prints machine-readable output on stdout (`csv`: list-users only)' -r -f -a "text\t'Aligned text for people'
json\t'JSON (JSON Lines for list-users, admin-reset and audit)'
csv\t'Comma-separated values with a header row (list-users only)'"
complete -c twofactl -n "__fish_twofactl_using_subcommand audit" -s y -l yes -d 'Answer yes to confirmations'
complete -c twofactl -n "__fish_twofactl_using_subcommand audit" -l no-input -d 'Never prompt; a needed answer that no flag gave is a usage error (implied when stdin is not a terminal)'
complete -c twofactl -n "__fish_twofactl_using_subcommand audit" -s q -l quiet -d 'Print less on stderr'
complete -c twofactl -n "__fish_twofactl_using_subcommand audit" -s v -l verbose -d 'Print more on stderr'
complete -c twofactl -n "__fish_twofactl_using_subcommand audit" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c twofactl -n "__fish_twofactl_using_subcommand audit" -s V -l version -d 'Print version'
complete -c twofactl -n "__fish_twofactl_using_subcommand outbox; and not __fish_seen_subcommand_from list send" -l db -d 'The application\'s SQLite database, or its PostgreSQL database as a postgres:// URL' -r -F
complete -c twofactl -n "__fish_twofactl_using_subcommand outbox; and not __fish_seen_subcommand_from list send" -l config -d 'Config file [default: /etc/twofactl/config.toml, then $XDG_CONFIG_HOME/twofactl/config.toml]' -r -F
complete -c twofactl -n "__fish_twofactl_using_subcommand outbox; and not __fish_seen_subcommand_from list send" -l profile -d 'The application\'s profile (default, kanboard, wallabag, django-otp, vaultwarden, gitea, forgejo, nextcloud); overrides [schema] profile' -r
complete -c twofactl -n "__fish_twofactl_using_subcommand outbox; and not __fish_seen_subcommand_from list send" -l format -d 'Output format; `json` prints machine-readable output on stdout (`csv`: list-users only)' -r -f -a "text\t'Aligned text for people'
json\t'JSON (JSON Lines for list-users, admin-reset and audit)'
csv\t'Comma-separated values with a header row (list-users only)'"
complete -c twofactl -n "__fish_twofactl_using_subcommand outbox; and not __fish_seen_subcommand_from list send" -s y -l yes -d 'Answer yes to confirmations'
complete -c twofactl -n "__fish_twofactl_using_subcommand outbox; and not __fish_seen_subcommand_from list send" -l no-input -d 'Never prompt; a needed answer that no flag gave is a usage error (implied when stdin is not a terminal)'
complete -c twofactl -n "__fish_twofactl_using_subcommand outbox; and not __fish_seen_subcommand_from list send" -s q -l quiet -d 'Print less on stderr'
complete -c twofactl -n "__fish_twofactl_using_subcommand outbox; and not __fish_seen_subcommand_from list send" -s v -l verbose -d 'Print more on stderr'
complete -c twofactl -n "__fish_twofactl_using_subcommand outbox; and not __fish_seen_subcommand_from list send" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c twofactl -n "__fish_twofactl_using_subcommand outbox; and not __fish_seen_subcommand_from list send" -s V -l version -d 'Print version'
complete -c twofactl -n "__fish_twofactl_using_subcommand outbox; and not __fish_seen_subcommand_from list send" -f -a "list" -d 'List the messages not yet delivered, with their last error'
complete -c twofactl -n "__fish_twofactl_using_subcommand outbox; and not __fish_seen_subcommand_from list send" -f -a "send" -d 'Deliver the pending messages (one SMTP connection for all)'
complete -c twofactl -n "__fish_twofactl_using_subcommand outbox; and __fish_seen_subcommand_from list" -l db -d 'The application\'s SQLite database, or its PostgreSQL database as a postgres:// URL' -r -F
complete -c twofactl -n "__fish_twofactl_using_subcommand outbox; and __fish_seen_subcommand_from list" -l config -d 'Config file [default: /etc/twofactl/config.toml, then $XDG_CONFIG_HOME/twofactl/config.toml]' -r -F
complete -c twofactl -n "__fish_twofactl_using_subcommand outbox; and __fish_seen_subcommand_from list" -l profile -d 'The application\'s profile (default, kanboard, wallabag, django-otp, vaultwarden, gitea, forgejo, nextcloud); overrides [schema] profile' -r
complete -c twofactl -n "__fish_twofactl_using_subcommand outbox; and __fish_seen_subcommand_from list" -l format -d 'Output format; `json` prints machine-readable output on stdout (`csv`: list-users only)' -r -f -a "text\t'Aligned text for people'
json\t'JSON (JSON Lines for list-users, admin-reset and audit)'
csv\t'Comma-separated values with a header row (list-users only)'"
complete -c twofactl -n "__fish_twofactl_using_subcommand outbox; and __fish_seen_subcommand_from list" -s y -l yes -d 'Answer yes to confirmations'
complete -c twofactl -n "__fish_twofactl_using_subcommand outbox; and __fish_seen_subcommand_from list" -l no-input -d 'Never prompt; a needed answer that no flag gave is a usage error (implied when stdin is not a terminal)'
complete -c twofactl -n "__fish_twofactl_using_subcommand outbox; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print less on stderr'
complete -c twofactl -n "__fish_twofactl_using_subcommand outbox; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Print more on stderr'
complete -c twofactl -n "__fish_twofactl_using_subcommand outbox; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c twofactl -n "__fish_twofactl_using_subcommand outbox; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c twofactl -n "__fish_twofactl_using_subcommand outbox; and __fish_seen_subcommand_from send" -l db -d 'The application\'s SQLite database, or its PostgreSQL database as a postgres:// URL' -r -F
complete -c twofactl -n "__fish_twofactl_using_subcommand outbox; and __fish_seen_subcommand_from send" -l config -d 'Config file [default: /etc/twofactl/config.toml, then $XDG_CONFIG_HOME/twofactl/config.toml]' -r -F
complete -c twofactl -n "__fish_twofactl_using_subcommand outbox; and __fish_seen_subcommand_from send" -l profile -d 'The application\'s profile (default, kanboard, wallabag, django-otp, vaultwarden, gitea, forgejo, nextcloud); overrides [schema] profile' -r
complete -c twofactl -n "__fish_twofactl_using_subcommand outbox; and __fish_seen_subcommand_from send" -l format -d 'Output format; `json` prints machine-readable output on stdout (`csv`: list-users only)' -r -f -a "text\t'Aligned text for people'
json\t'JSON (JSON Lines for list-users, admin-reset and audit)'
csv\t'Comma-separated values with a header row (list-users only)'"
complete -c twofactl -n "__fish_twofactl_using_subcommand outbox; and __fish_seen_subcommand_from send" -l retry-interrupted -d 'Also resend messages whose delivery was interrupted (a crash or kill mid-send) more than 10 minutes ago; the server may already have received some of them'
complete -c twofactl -n "__fish_twofactl_using_subcommand outbox; and __fish_seen_subcommand_from send" -s y -l yes -d 'Answer yes to confirmations'
complete -c twofactl -n "__fish_twofactl_using_subcommand outbox; and __fish_seen_subcommand_from send" -l no-input -d 'Never prompt; a needed answer that no flag gave is a usage error (implied when stdin is not a terminal)'
complete -c twofactl -n "__fish_twofactl_using_subcommand outbox; and __fish_seen_subcommand_from send" -s q -l quiet -d 'Print less on stderr'
complete -c twofactl -n "__fish_twofactl_using_subcommand outbox; and __fish_seen_subcommand_from send" -s v -l verbose -d 'Print more on stderr'
complete -c twofactl -n "__fish_twofactl_using_subcommand outbox; and __fish_seen_subcommand_from send" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c twofactl -n "__fish_twofactl_using_subcommand outbox; and __fish_seen_subcommand_from send" -s V -l version -d 'Print version'
complete -c twofactl -n "__fish_twofactl_using_subcommand doctor" -l send-test -d 'Also send one test message to ADDRESS' -r
complete -c twofactl -n "__fish_twofactl_using_subcommand doctor" -l db -d 'The application\'s SQLite database, or its PostgreSQL database as a postgres:// URL' -r -F
complete -c twofactl -n "__fish_twofactl_using_subcommand doctor" -l config -d 'Config file [default: /etc/twofactl/config.toml, then $XDG_CONFIG_HOME/twofactl/config.toml]' -r -F
complete -c twofactl -n "__fish_twofactl_using_subcommand doctor" -l profile -d 'The application\'s profile (default, kanboard, wallabag, django-otp, vaultwarden, gitea, forgejo, nextcloud); overrides [schema] profile' -r
complete -c twofactl -n "__fish_twofactl_using_subcommand doctor" -l format -d 'Output format; `json` prints machine-readable output on stdout (`csv`: list-users only)' -r -f -a "text\t'Aligned text for people'
json\t'JSON (JSON Lines for list-users, admin-reset and audit)'
csv\t'Comma-separated values with a header row (list-users only)'"
complete -c twofactl -n "__fish_twofactl_using_subcommand doctor" -s y -l yes -d 'Answer yes to confirmations'
complete -c twofactl -n "__fish_twofactl_using_subcommand doctor" -l no-input -d 'Never prompt; a needed answer that no flag gave is a usage error (implied when stdin is not a terminal)'
complete -c twofactl -n "__fish_twofactl_using_subcommand doctor" -s q -l quiet -d 'Print less on stderr'
complete -c twofactl -n "__fish_twofactl_using_subcommand doctor" -s v -l verbose -d 'Print more on stderr'
complete -c twofactl -n "__fish_twofactl_using_subcommand doctor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c twofactl -n "__fish_twofactl_using_subcommand doctor" -s V -l version -d 'Print version'
complete -c twofactl -n "__fish_twofactl_using_subcommand demo" -l db -d 'The application\'s SQLite database, or its PostgreSQL database as a postgres:// URL' -r -F
complete -c twofactl -n "__fish_twofactl_using_subcommand demo" -l config -d 'Config file [default: /etc/twofactl/config.toml, then $XDG_CONFIG_HOME/twofactl/config.toml]' -r -F
complete -c twofactl -n "__fish_twofactl_using_subcommand demo" -l profile -d 'The application\'s profile (default, kanboard, wallabag, django-otp, vaultwarden, gitea, forgejo, nextcloud); overrides [schema] profile' -r
complete -c twofactl -n "__fish_twofactl_using_subcommand demo" -l format -d 'Output format; `json` prints machine-readable output on stdout (`csv`: list-users only)' -r -f -a "text\t'Aligned text for people'
json\t'JSON (JSON Lines for list-users, admin-reset and audit)'
csv\t'Comma-separated values with a header row (list-users only)'"
complete -c twofactl -n "__fish_twofactl_using_subcommand demo" -s y -l yes -d 'Answer yes to confirmations'
complete -c twofactl -n "__fish_twofactl_using_subcommand demo" -l no-input -d 'Never prompt; a needed answer that no flag gave is a usage error (implied when stdin is not a terminal)'
complete -c twofactl -n "__fish_twofactl_using_subcommand demo" -s q -l quiet -d 'Print less on stderr'
complete -c twofactl -n "__fish_twofactl_using_subcommand demo" -s v -l verbose -d 'Print more on stderr'
complete -c twofactl -n "__fish_twofactl_using_subcommand demo" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c twofactl -n "__fish_twofactl_using_subcommand demo" -s V -l version -d 'Print version'
complete -c twofactl -n "__fish_twofactl_using_subcommand completions" -l db -d 'The application\'s SQLite database, or its PostgreSQL database as a postgres:// URL' -r -F
complete -c twofactl -n "__fish_twofactl_using_subcommand completions" -l config -d 'Config file [default: /etc/twofactl/config.toml, then $XDG_CONFIG_HOME/twofactl/config.toml]' -r -F
complete -c twofactl -n "__fish_twofactl_using_subcommand completions" -l profile -d 'The application\'s profile (default, kanboard, wallabag, django-otp, vaultwarden, gitea, forgejo, nextcloud); overrides [schema] profile' -r
complete -c twofactl -n "__fish_twofactl_using_subcommand completions" -l format -d 'Output format; `json` prints machine-readable output on stdout (`csv`: list-users only)' -r -f -a "text\t'Aligned text for people'
json\t'JSON (JSON Lines for list-users, admin-reset and audit)'
csv\t'Comma-separated values with a header row (list-users only)'"
complete -c twofactl -n "__fish_twofactl_using_subcommand completions" -s y -l yes -d 'Answer yes to confirmations'
complete -c twofactl -n "__fish_twofactl_using_subcommand completions" -l no-input -d 'Never prompt; a needed answer that no flag gave is a usage error (implied when stdin is not a terminal)'
complete -c twofactl -n "__fish_twofactl_using_subcommand completions" -s q -l quiet -d 'Print less on stderr'
complete -c twofactl -n "__fish_twofactl_using_subcommand completions" -s v -l verbose -d 'Print more on stderr'
complete -c twofactl -n "__fish_twofactl_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c twofactl -n "__fish_twofactl_using_subcommand completions" -s V -l version -d 'Print version'
complete -c twofactl -n "__fish_twofactl_using_subcommand man" -l db -d 'The application\'s SQLite database, or its PostgreSQL database as a postgres:// URL' -r -F
complete -c twofactl -n "__fish_twofactl_using_subcommand man" -l config -d 'Config file [default: /etc/twofactl/config.toml, then $XDG_CONFIG_HOME/twofactl/config.toml]' -r -F
complete -c twofactl -n "__fish_twofactl_using_subcommand man" -l profile -d 'The application\'s profile (default, kanboard, wallabag, django-otp, vaultwarden, gitea, forgejo, nextcloud); overrides [schema] profile' -r
complete -c twofactl -n "__fish_twofactl_using_subcommand man" -l format -d 'Output format; `json` prints machine-readable output on stdout (`csv`: list-users only)' -r -f -a "text\t'Aligned text for people'
json\t'JSON (JSON Lines for list-users, admin-reset and audit)'
csv\t'Comma-separated values with a header row (list-users only)'"
complete -c twofactl -n "__fish_twofactl_using_subcommand man" -s y -l yes -d 'Answer yes to confirmations'
complete -c twofactl -n "__fish_twofactl_using_subcommand man" -l no-input -d 'Never prompt; a needed answer that no flag gave is a usage error (implied when stdin is not a terminal)'
complete -c twofactl -n "__fish_twofactl_using_subcommand man" -s q -l quiet -d 'Print less on stderr'
complete -c twofactl -n "__fish_twofactl_using_subcommand man" -s v -l verbose -d 'Print more on stderr'
complete -c twofactl -n "__fish_twofactl_using_subcommand man" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c twofactl -n "__fish_twofactl_using_subcommand man" -s V -l version -d 'Print version'
