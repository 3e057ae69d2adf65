
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'twofactl' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'twofactl'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'twofactl' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The application''s SQLite database, or its PostgreSQL database as a postgres:// URL')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: /etc/twofactl/config.toml, then $XDG_CONFIG_HOME/twofactl/config.toml]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'The application''s profile (default, kanboard, wallabag, django-otp, vaultwarden, gitea, forgejo, nextcloud); overrides [schema] profile')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format; `json` prints machine-readable output on stdout (`csv`: list-users only)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; a needed answer that no flag gave is a usage error (implied when stdin is not a terminal)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print less on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print less on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('request-reset', 'request-reset', [CompletionResultType]::ParameterValue, 'Step 1 of a self-service reset: check the user''s password and e-mail a one-time code')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Step 2 of a self-service reset: check the e-mailed code and clear the user''s 2FA')
            [CompletionResult]::new('enroll', 'enroll', [CompletionResultType]::ParameterValue, 'Make a new TOTP key for a user, show it as a QR code, and confirm it with a first code')
            [CompletionResult]::new('list-users', 'list-users', [CompletionResultType]::ParameterValue, 'List users and their 2FA state (never their secrets)')
            [CompletionResult]::new('admin-reset', 'admin-reset', [CompletionResultType]::ParameterValue, 'Clear the 2FA of one user or many, with a reason and an audit record')
            [CompletionResult]::new('audit', 'audit', [CompletionResultType]::ParameterValue, 'Read twofactl''s audit log')
            [CompletionResult]::new('outbox', 'outbox', [CompletionResultType]::ParameterValue, 'Show or deliver notification e-mails that could not be sent')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Check the database, the schema mapping and the mail server, without sending mail')
            [CompletionResult]::new('demo', 'demo', [CompletionResultType]::ParameterValue, 'Make a sandbox (a sample application database and a config) to try twofactl on')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print the completion script for a shell (bash, zsh, fish, powershell, elvish)')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Write the man pages (twofactl(1), one per command, twofactl.toml(5)) under DIR')
            break
        }
        'twofactl;request-reset' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The application''s SQLite database, or its PostgreSQL database as a postgres:// URL')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: /etc/twofactl/config.toml, then $XDG_CONFIG_HOME/twofactl/config.toml]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'The application''s profile (default, kanboard, wallabag, django-otp, vaultwarden, gitea, forgejo, nextcloud); overrides [schema] profile')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format; `json` prints machine-readable output on stdout (`csv`: list-users only)')
            [CompletionResult]::new('--password-stdin', '--password-stdin', [CompletionResultType]::ParameterName, 'Read the user''s password from the first line of stdin (at most 4 KiB) instead of prompting')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; a needed answer that no flag gave is a usage error (implied when stdin is not a terminal)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print less on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print less on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'twofactl;verify' {
            [CompletionResult]::new('--qr-png', '--qr-png', [CompletionResultType]::ParameterName, 'Write the QR code as a PNG image to FILE (mode 0600, atomically)')
            [CompletionResult]::new('--qr-svg', '--qr-svg', [CompletionResultType]::ParameterName, 'Write the QR code as an SVG image to FILE (mode 0600, atomically)')
            [CompletionResult]::new('--qr-size', '--qr-size', [CompletionResultType]::ParameterName, 'Pixels per QR module in --qr-png and --qr-svg (at least 4: smaller codes do not scan reliably from a screen or print)')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The application''s SQLite database, or its PostgreSQL database as a postgres:// URL')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: /etc/twofactl/config.toml, then $XDG_CONFIG_HOME/twofactl/config.toml]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'The application''s profile (default, kanboard, wallabag, django-otp, vaultwarden, gitea, forgejo, nextcloud); overrides [schema] profile')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format; `json` prints machine-readable output on stdout (`csv`: list-users only)')
            [CompletionResult]::new('--code-stdin', '--code-stdin', [CompletionResultType]::ParameterName, 'Read the code from the first line of stdin')
            [CompletionResult]::new('--enroll', '--enroll', [CompletionResultType]::ParameterName, 'Go straight on to enrolling a new authenticator (takes enroll''s QR options)')
            [CompletionResult]::new('--qr-terminal', '--qr-terminal', [CompletionResultType]::ParameterName, 'Print the QR code in the terminal (the default when stdout is a terminal)')
            [CompletionResult]::new('--show-secret', '--show-secret', [CompletionResultType]::ParameterName, 'Print the key (in groups of four) and the otpauth URI, for typing into the app by hand')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace a pending key or an active authenticator (with --reason), and overwrite existing QR files (regular files only)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; a needed answer that no flag gave is a usage error (implied when stdin is not a terminal)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print less on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print less on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'twofactl;enroll' {
            [CompletionResult]::new('--code', '--code', [CompletionResultType]::ParameterName, 'Confirm the pending key with a code from the authenticator app (no new key is made)')
            [CompletionResult]::new('--reason', '--reason', [CompletionResultType]::ParameterName, 'Why an active authenticator is replaced (needed with --force on a user whose 2FA is active; recorded in the audit log; prompted in a terminal)')
            [CompletionResult]::new('--actor', '--actor', [CompletionResultType]::ParameterName, 'The application administrator on whose behalf an active authenticator is replaced')
            [CompletionResult]::new('--qr-png', '--qr-png', [CompletionResultType]::ParameterName, 'Write the QR code as a PNG image to FILE (mode 0600, atomically)')
            [CompletionResult]::new('--qr-svg', '--qr-svg', [CompletionResultType]::ParameterName, 'Write the QR code as an SVG image to FILE (mode 0600, atomically)')
            [CompletionResult]::new('--qr-size', '--qr-size', [CompletionResultType]::ParameterName, 'Pixels per QR module in --qr-png and --qr-svg (at least 4: smaller codes do not scan reliably from a screen or print)')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The application''s SQLite database, or its PostgreSQL database as a postgres:// URL')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: /etc/twofactl/config.toml, then $XDG_CONFIG_HOME/twofactl/config.toml]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'The application''s profile (default, kanboard, wallabag, django-otp, vaultwarden, gitea, forgejo, nextcloud); overrides [schema] profile')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format; `json` prints machine-readable output on stdout (`csv`: list-users only)')
            [CompletionResult]::new('--code-stdin', '--code-stdin', [CompletionResultType]::ParameterName, 'Confirm the pending key with a code read from the first line of stdin')
            [CompletionResult]::new('--allow-admin', '--allow-admin', [CompletionResultType]::ParameterName, 'Allow replacing the active authenticator of an administrator of the application')
            [CompletionResult]::new('--qr-terminal', '--qr-terminal', [CompletionResultType]::ParameterName, 'Print the QR code in the terminal (the default when stdout is a terminal)')
            [CompletionResult]::new('--show-secret', '--show-secret', [CompletionResultType]::ParameterName, 'Print the key (in groups of four) and the otpauth URI, for typing into the app by hand')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace a pending key or an active authenticator (with --reason), and overwrite existing QR files (regular files only)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; a needed answer that no flag gave is a usage error (implied when stdin is not a terminal)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print less on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print less on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'twofactl;list-users' {
            [CompletionResult]::new('--status', '--status', [CompletionResultType]::ParameterName, 'Only users in this 2FA state')
            [CompletionResult]::new('--match', '--match', [CompletionResultType]::ParameterName, 'Only users whose username or e-mail contains PATTERN (case-insensitive, no wildcards)')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Print at most N users')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The application''s SQLite database, or its PostgreSQL database as a postgres:// URL')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: /etc/twofactl/config.toml, then $XDG_CONFIG_HOME/twofactl/config.toml]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'The application''s profile (default, kanboard, wallabag, django-otp, vaultwarden, gitea, forgejo, nextcloud); overrides [schema] profile')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format; `json` prints machine-readable output on stdout (`csv`: list-users only)')
            [CompletionResult]::new('--admins', '--admins', [CompletionResultType]::ParameterName, 'Only the application''s administrators')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; a needed answer that no flag gave is a usage error (implied when stdin is not a terminal)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print less on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print less on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'twofactl;admin-reset' {
            [CompletionResult]::new('--from-file', '--from-file', [CompletionResultType]::ParameterName, 'Read users from FILE, one per line (`-` for stdin; blank lines and `#` comments skipped)')
            [CompletionResult]::new('--reason', '--reason', [CompletionResultType]::ParameterName, 'Why the 2FA is reset, on one line (no control characters); recorded in the audit log (prompted in a terminal)')
            [CompletionResult]::new('--actor', '--actor', [CompletionResultType]::ParameterName, 'The application administrator on whose behalf the reset is made (must have is_admin = 1)')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The application''s SQLite database, or its PostgreSQL database as a postgres:// URL')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: /etc/twofactl/config.toml, then $XDG_CONFIG_HOME/twofactl/config.toml]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'The application''s profile (default, kanboard, wallabag, django-otp, vaultwarden, gitea, forgejo, nextcloud); overrides [schema] profile')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format; `json` prints machine-readable output on stdout (`csv`: list-users only)')
            [CompletionResult]::new('--allow-admin', '--allow-admin', [CompletionResultType]::ParameterName, 'Allow resetting users who are administrators of the application')
            [CompletionResult]::new('--skip-missing', '--skip-missing', [CompletionResultType]::ParameterName, 'Skip users that do not exist instead of stopping with nothing changed')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show what would be reset; change nothing')
            [CompletionResult]::new('--no-notify', '--no-notify', [CompletionResultType]::ParameterName, 'Do not e-mail the reset users (the audit log records that they were not notified)')
            [CompletionResult]::new('--show-reason', '--show-reason', [CompletionResultType]::ParameterName, 'Include the reason in the e-mail to each user')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; a needed answer that no flag gave is a usage error (implied when stdin is not a terminal)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print less on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print less on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'twofactl;audit' {
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Only records about this user (username or e-mail address)')
            [CompletionResult]::new('--action', '--action', [CompletionResultType]::ParameterName, 'Only records of this action')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only records since TIME: an RFC 3339 time or date (2026-11-01), or an age (7d, 12h)')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Print at most N records (the newest)')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The application''s SQLite database, or its PostgreSQL database as a postgres:// URL')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: /etc/twofactl/config.toml, then $XDG_CONFIG_HOME/twofactl/config.toml]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'The application''s profile (default, kanboard, wallabag, django-otp, vaultwarden, gitea, forgejo, nextcloud); overrides [schema] profile')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format; `json` prints machine-readable output on stdout (`csv`: list-users only)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; a needed answer that no flag gave is a usage error (implied when stdin is not a terminal)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print less on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print less on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'twofactl;outbox' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The application''s SQLite database, or its PostgreSQL database as a postgres:// URL')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: /etc/twofactl/config.toml, then $XDG_CONFIG_HOME/twofactl/config.toml]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'The application''s profile (default, kanboard, wallabag, django-otp, vaultwarden, gitea, forgejo, nextcloud); overrides [schema] profile')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format; `json` prints machine-readable output on stdout (`csv`: list-users only)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; a needed answer that no flag gave is a usage error (implied when stdin is not a terminal)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print less on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print less on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the messages not yet delivered, with their last error')
            [CompletionResult]::new('send', 'send', [CompletionResultType]::ParameterValue, 'Deliver the pending messages (one SMTP connection for all)')
            break
        }
        'twofactl;outbox;list' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The application''s SQLite database, or its PostgreSQL database as a postgres:// URL')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: /etc/twofactl/config.toml, then $XDG_CONFIG_HOME/twofactl/config.toml]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'The application''s profile (default, kanboard, wallabag, django-otp, vaultwarden, gitea, forgejo, nextcloud); overrides [schema] profile')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format; `json` prints machine-readable output on stdout (`csv`: list-users only)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; a needed answer that no flag gave is a usage error (implied when stdin is not a terminal)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print less on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print less on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'twofactl;outbox;send' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The application''s SQLite database, or its PostgreSQL database as a postgres:// URL')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: /etc/twofactl/config.toml, then $XDG_CONFIG_HOME/twofactl/config.toml]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'The application''s profile (default, kanboard, wallabag, django-otp, vaultwarden, gitea, forgejo, nextcloud); overrides [schema] profile')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format; `json` prints machine-readable output on stdout (`csv`: list-users only)')
            [CompletionResult]::new('--retry-interrupted', '--retry-interrupted', [CompletionResultType]::ParameterName, 'Also resend messages whose delivery was interrupted (a crash or kill mid-send) more than 10 minutes ago; the server may already have received some of them')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; a needed answer that no flag gave is a usage error (implied when stdin is not a terminal)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print less on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print less on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'twofactl;doctor' {
            [CompletionResult]::new('--send-test', '--send-test', [CompletionResultType]::ParameterName, 'Also send one test message to ADDRESS')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The application''s SQLite database, or its PostgreSQL database as a postgres:// URL')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: /etc/twofactl/config.toml, then $XDG_CONFIG_HOME/twofactl/config.toml]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'The application''s profile (default, kanboard, wallabag, django-otp, vaultwarden, gitea, forgejo, nextcloud); overrides [schema] profile')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format; `json` prints machine-readable output on stdout (`csv`: list-users only)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; a needed answer that no flag gave is a usage error (implied when stdin is not a terminal)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print less on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print less on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'twofactl;demo' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The application''s SQLite database, or its PostgreSQL database as a postgres:// URL')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: /etc/twofactl/config.toml, then $XDG_CONFIG_HOME/twofactl/config.toml]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'The application''s profile (default, kanboard, wallabag, django-otp, vaultwarden, gitea, forgejo, nextcloud); overrides [schema] profile')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format; `json` prints machine-readable output on stdout (`csv`: list-users only)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; a needed answer that no flag gave is a usage error (implied when stdin is not a terminal)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print less on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print less on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'twofactl;completions' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The application''s SQLite database, or its PostgreSQL database as a postgres:// URL')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: /etc/twofactl/config.toml, then $XDG_CONFIG_HOME/twofactl/config.toml]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'The application''s profile (default, kanboard, wallabag, django-otp, vaultwarden, gitea, forgejo, nextcloud); overrides [schema] profile')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format; `json` prints machine-readable output on stdout (`csv`: list-users only)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; a needed answer that no flag gave is a usage error (implied when stdin is not a terminal)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print less on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print less on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'twofactl;man' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The application''s SQLite database, or its PostgreSQL database as a postgres:// URL')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: /etc/twofactl/config.toml, then $XDG_CONFIG_HOME/twofactl/config.toml]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'The application''s profile (default, kanboard, wallabag, django-otp, vaultwarden, gitea, forgejo, nextcloud); overrides [schema] profile')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format; `json` prints machine-readable output on stdout (`csv`: list-users only)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; a needed answer that no flag gave is a usage error (implied when stdin is not a terminal)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print less on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print less on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
