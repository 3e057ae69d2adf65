
use builtin;
use str;

set edit:completion:arg-completer[twofactl] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'twofactl'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'twofactl'= {
            cand --db 'The application''s SQLite database'
            cand --config 'Config file [default: /etc/twofactl/config.toml, then $XDG_CONFIG_HOME/twofactl/config.toml]'
            cand --format 'Output format; `json` prints machine-readable output on stdout (`csv`: list-users only)'
            cand -y 'Answer yes to confirmations'
            cand --yes 'Answer yes to confirmations'
            cand --no-input 'Never prompt; a needed answer that no flag gave is a usage error (implied when stdin is not a terminal)'
            cand -q 'Print less on stderr'
            cand --quiet 'Print less on stderr'
            cand -v 'Print more on stderr'
            cand --verbose 'Print more on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand request-reset 'Step 1 of a self-service reset: check the user''s password and e-mail a one-time code'
            cand verify 'Step 2 of a self-service reset: check the e-mailed code and clear the user''s 2FA'
            cand enroll 'Make a new TOTP key for a user, show it as a QR code, and confirm it with a first code'
            cand list-users 'List users and their 2FA state (never their secrets)'
            cand admin-reset 'Clear the 2FA of one user or many, with a reason and an audit record'
            cand audit 'Read twofactl''s audit log'
            cand outbox 'Show or deliver notification e-mails that could not be sent'
            cand doctor 'Check the database, the schema mapping and the mail server, without sending mail'
            cand demo 'Make a sandbox (a sample application database and a config) to try twofactl on'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'twofactl;request-reset'= {
            cand --db 'The application''s SQLite database'
            cand --config 'Config file [default: /etc/twofactl/config.toml, then $XDG_CONFIG_HOME/twofactl/config.toml]'
            cand --format 'Output format; `json` prints machine-readable output on stdout (`csv`: list-users only)'
            cand --password-stdin 'Read the user''s password from the first line of stdin (at most 4 KiB) instead of prompting'
            cand -y 'Answer yes to confirmations'
            cand --yes 'Answer yes to confirmations'
            cand --no-input 'Never prompt; a needed answer that no flag gave is a usage error (implied when stdin is not a terminal)'
            cand -q 'Print less on stderr'
            cand --quiet 'Print less on stderr'
            cand -v 'Print more on stderr'
            cand --verbose 'Print more on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'twofactl;verify'= {
            cand --qr-png 'Write the QR code as a PNG image to FILE (mode 0600, atomically)'
            cand --qr-svg 'Write the QR code as an SVG image to FILE (mode 0600, atomically)'
            cand --qr-size 'Pixels per QR module in --qr-png and --qr-svg'
            cand --db 'The application''s SQLite database'
            cand --config 'Config file [default: /etc/twofactl/config.toml, then $XDG_CONFIG_HOME/twofactl/config.toml]'
            cand --format 'Output format; `json` prints machine-readable output on stdout (`csv`: list-users only)'
            cand --code-stdin 'Read the code from the first line of stdin'
            cand --enroll 'Go straight on to enrolling a new authenticator (takes enroll''s QR options)'
            cand --qr-terminal 'Print the QR code in the terminal (the default when stdout is a terminal)'
            cand --show-secret 'Print the key (in groups of four) and the otpauth URI, for typing into the app by hand'
            cand --force 'Replace a pending key or an active authenticator (with --reason), and overwrite existing QR files (regular files only)'
            cand -y 'Answer yes to confirmations'
            cand --yes 'Answer yes to confirmations'
            cand --no-input 'Never prompt; a needed answer that no flag gave is a usage error (implied when stdin is not a terminal)'
            cand -q 'Print less on stderr'
            cand --quiet 'Print less on stderr'
            cand -v 'Print more on stderr'
            cand --verbose 'Print more on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'twofactl;enroll'= {
            cand --code 'Confirm the pending key with a code from the authenticator app (no new key is made)'
            cand --reason 'Why an active authenticator is replaced (needed with --force on a user whose 2FA is active; recorded in the audit log; prompted in a terminal)'
            cand --actor 'The application administrator on whose behalf an active authenticator is replaced'
            cand --qr-png 'Write the QR code as a PNG image to FILE (mode 0600, atomically)'
            cand --qr-svg 'Write the QR code as an SVG image to FILE (mode 0600, atomically)'
            cand --qr-size 'Pixels per QR module in --qr-png and --qr-svg'
            cand --db 'The application''s SQLite database'
            cand --config 'Config file [default: /etc/twofactl/config.toml, then $XDG_CONFIG_HOME/twofactl/config.toml]'
            cand --format 'Output format; `json` prints machine-readable output on stdout (`csv`: list-users only)'
            cand --code-stdin 'Confirm the pending key with a code read from the first line of stdin'
            cand --allow-admin 'Allow replacing the active authenticator of an administrator of the application'
            cand --qr-terminal 'Print the QR code in the terminal (the default when stdout is a terminal)'
            cand --show-secret 'Print the key (in groups of four) and the otpauth URI, for typing into the app by hand'
            cand --force 'Replace a pending key or an active authenticator (with --reason), and overwrite existing QR files (regular files only)'
            cand -y 'Answer yes to confirmations'
            cand --yes 'Answer yes to confirmations'
            cand --no-input 'Never prompt; a needed answer that no flag gave is a usage error (implied when stdin is not a terminal)'
            cand -q 'Print less on stderr'
            cand --quiet 'Print less on stderr'
            cand -v 'Print more on stderr'
            cand --verbose 'Print more on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'twofactl;list-users'= {
            cand --status 'Only users in this 2FA state'
            cand --match 'Only users whose username or e-mail contains PATTERN (case-insensitive, no wildcards)'
            cand --limit 'Print at most N users'
            cand --db 'The application''s SQLite database'
            cand --config 'Config file [default: /etc/twofactl/config.toml, then $XDG_CONFIG_HOME/twofactl/config.toml]'
            cand --format 'Output format; `json` prints machine-readable output on stdout (`csv`: list-users only)'
            cand --admins 'Only the application''s administrators'
            cand -y 'Answer yes to confirmations'
            cand --yes 'Answer yes to confirmations'
            cand --no-input 'Never prompt; a needed answer that no flag gave is a usage error (implied when stdin is not a terminal)'
            cand -q 'Print less on stderr'
            cand --quiet 'Print less on stderr'
            cand -v 'Print more on stderr'
            cand --verbose 'Print more on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'twofactl;admin-reset'= {
            cand --from-file 'Read users from FILE, one per line (`-` for stdin; blank lines and `#` comments skipped)'
            cand --reason 'Why the 2FA is reset, on one line (no control characters); recorded in the audit log (prompted in a terminal)'
            cand --actor 'The application administrator on whose behalf the reset is made (must have is_admin = 1)'
            cand --db 'The application''s SQLite database'
            cand --config 'Config file [default: /etc/twofactl/config.toml, then $XDG_CONFIG_HOME/twofactl/config.toml]'
            cand --format 'Output format; `json` prints machine-readable output on stdout (`csv`: list-users only)'
            cand --allow-admin 'Allow resetting users who are administrators of the application'
            cand --skip-missing 'Skip users that do not exist instead of stopping with nothing changed'
            cand --dry-run 'Show what would be reset; change nothing'
            cand --no-notify 'Do not e-mail the reset users (the audit log records that they were not notified)'
            cand --show-reason 'Include the reason in the e-mail to each user'
            cand -y 'Answer yes to confirmations'
            cand --yes 'Answer yes to confirmations'
            cand --no-input 'Never prompt; a needed answer that no flag gave is a usage error (implied when stdin is not a terminal)'
            cand -q 'Print less on stderr'
            cand --quiet 'Print less on stderr'
            cand -v 'Print more on stderr'
            cand --verbose 'Print more on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'twofactl;audit'= {
            cand --user 'Only records about this user (username)'
            cand --action 'Only records of this action (e.g. admin-reset)'
            cand --since 'Only records since TIME: an RFC 3339 time or date (2026-11-01), or an age (7d, 12h)'
            cand --limit 'Print at most N records (the newest)'
            cand --db 'The application''s SQLite database'
            cand --config 'Config file [default: /etc/twofactl/config.toml, then $XDG_CONFIG_HOME/twofactl/config.toml]'
            cand --format 'Output format; `json` prints machine-readable output on stdout (`csv`: list-users only)'
            cand -y 'Answer yes to confirmations'
            cand --yes 'Answer yes to confirmations'
            cand --no-input 'Never prompt; a needed answer that no flag gave is a usage error (implied when stdin is not a terminal)'
            cand -q 'Print less on stderr'
            cand --quiet 'Print less on stderr'
            cand -v 'Print more on stderr'
            cand --verbose 'Print more on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'twofactl;outbox'= {
            cand --db 'The application''s SQLite database'
            cand --config 'Config file [default: /etc/twofactl/config.toml, then $XDG_CONFIG_HOME/twofactl/config.toml]'
            cand --format 'Output format; `json` prints machine-readable output on stdout (`csv`: list-users only)'
            cand -y 'Answer yes to confirmations'
            cand --yes 'Answer yes to confirmations'
            cand --no-input 'Never prompt; a needed answer that no flag gave is a usage error (implied when stdin is not a terminal)'
            cand -q 'Print less on stderr'
            cand --quiet 'Print less on stderr'
            cand -v 'Print more on stderr'
            cand --verbose 'Print more on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand list 'List the messages not yet delivered, with their last error'
            cand send 'Deliver the pending messages (one SMTP connection for all)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'twofactl;outbox;list'= {
            cand --db 'The application''s SQLite database'
            cand --config 'Config file [default: /etc/twofactl/config.toml, then $XDG_CONFIG_HOME/twofactl/config.toml]'
            cand --format 'Output format; `json` prints machine-readable output on stdout (`csv`: list-users only)'
            cand -y 'Answer yes to confirmations'
            cand --yes 'Answer yes to confirmations'
            cand --no-input 'Never prompt; a needed answer that no flag gave is a usage error (implied when stdin is not a terminal)'
            cand -q 'Print less on stderr'
            cand --quiet 'Print less on stderr'
            cand -v 'Print more on stderr'
            cand --verbose 'Print more on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'twofactl;outbox;send'= {
            cand --db 'The application''s SQLite database'
            cand --config 'Config file [default: /etc/twofactl/config.toml, then $XDG_CONFIG_HOME/twofactl/config.toml]'
            cand --format 'Output format; `json` prints machine-readable output on stdout (`csv`: list-users only)'
            cand --retry-interrupted 'Also resend messages whose delivery was interrupted (a crash or kill mid-send) more than 10 minutes ago; the server may already have received some of them'
            cand -y 'Answer yes to confirmations'
            cand --yes 'Answer yes to confirmations'
            cand --no-input 'Never prompt; a needed answer that no flag gave is a usage error (implied when stdin is not a terminal)'
            cand -q 'Print less on stderr'
            cand --quiet 'Print less on stderr'
            cand -v 'Print more on stderr'
            cand --verbose 'Print more on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'twofactl;outbox;help'= {
            cand list 'List the messages not yet delivered, with their last error'
            cand send 'Deliver the pending messages (one SMTP connection for all)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'twofactl;outbox;help;list'= {
        }
        &'twofactl;outbox;help;send'= {
        }
        &'twofactl;outbox;help;help'= {
        }
        &'twofactl;doctor'= {
            cand --send-test 'Also send one test message to ADDRESS'
            cand --db 'The application''s SQLite database'
            cand --config 'Config file [default: /etc/twofactl/config.toml, then $XDG_CONFIG_HOME/twofactl/config.toml]'
            cand --format 'Output format; `json` prints machine-readable output on stdout (`csv`: list-users only)'
            cand -y 'Answer yes to confirmations'
            cand --yes 'Answer yes to confirmations'
            cand --no-input 'Never prompt; a needed answer that no flag gave is a usage error (implied when stdin is not a terminal)'
            cand -q 'Print less on stderr'
            cand --quiet 'Print less on stderr'
            cand -v 'Print more on stderr'
            cand --verbose 'Print more on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'twofactl;demo'= {
            cand --db 'The application''s SQLite database'
            cand --config 'Config file [default: /etc/twofactl/config.toml, then $XDG_CONFIG_HOME/twofactl/config.toml]'
            cand --format 'Output format; `json` prints machine-readable output on stdout (`csv`: list-users only)'
            cand -y 'Answer yes to confirmations'
            cand --yes 'Answer yes to confirmations'
            cand --no-input 'Never prompt; a needed answer that no flag gave is a usage error (implied when stdin is not a terminal)'
            cand -q 'Print less on stderr'
            cand --quiet 'Print less on stderr'
            cand -v 'Print more on stderr'
            cand --verbose 'Print more on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'twofactl;help'= {
            cand request-reset 'Step 1 of a self-service reset: check the user''s password and e-mail a one-time code'
            cand verify 'Step 2 of a self-service reset: check the e-mailed code and clear the user''s 2FA'
            cand enroll 'Make a new TOTP key for a user, show it as a QR code, and confirm it with a first code'
            cand list-users 'List users and their 2FA state (never their secrets)'
            cand admin-reset 'Clear the 2FA of one user or many, with a reason and an audit record'
            cand audit 'Read twofactl''s audit log'
            cand outbox 'Show or deliver notification e-mails that could not be sent'
            cand doctor 'Check the database, the schema mapping and the mail server, without sending mail'
            cand demo 'Make a sandbox (a sample application database and a config) to try twofactl on'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'twofactl;help;request-reset'= {
        }
        &'twofactl;help;verify'= {
        }
        &'twofactl;help;enroll'= {
        }
        &'twofactl;help;list-users'= {
        }
        &'twofactl;help;admin-reset'= {
        }
        &'twofactl;help;audit'= {
        }
        &'twofactl;help;outbox'= {
            cand list 'List the messages not yet delivered, with their last error'
            cand send 'Deliver the pending messages (one SMTP connection for all)'
        }
        &'twofactl;help;outbox;list'= {
        }
        &'twofactl;help;outbox;send'= {
        }
        &'twofactl;help;doctor'= {
        }
        &'twofactl;help;demo'= {
        }
        &'twofactl;help;help'= {
        }
    ]
    $completions[$command]
}
