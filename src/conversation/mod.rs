//! What AVA answers. For now: `/start`, `/help` and a fallback; the state machine grows here.

/// The reply to an incoming text message.
pub fn reply_to(text: &str) -> String {
    match command_of(text) {
        Some("start") => WELCOME.to_owned(),
        Some("help") => HELP.to_owned(),
        _ => "I don't know that yet, try /help".to_owned(),
    }
}

/// The command name of `/name@bot args`, without the slash and the bot mention.
pub fn command_of(text: &str) -> Option<&str> {
    let first = text.split_whitespace().next()?.strip_prefix('/')?;
    let name = first.split('@').next().unwrap_or(first);
    (!name.is_empty()).then_some(name)
}

const WELCOME: &str = "Welcome to AVA, your trading assistant.\n\
I can analyse a ticker, suggest an options strategy, show prices and history, and watch alerts for you.\n\
Send /help to see everything I can do.";

const HELP: &str = "Commands:\n\
/start - welcome\n\
/help - this list";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_recognised_with_or_without_bot_mention() {
        assert_eq!(command_of("/start"), Some("start"));
        assert_eq!(command_of("/help@ava_bot now"), Some("help"));
        assert_eq!(command_of("hello"), None);
        assert_eq!(command_of("/"), None);
    }

    #[test]
    fn replies() {
        assert!(reply_to("/start").starts_with("Welcome to AVA"));
        assert!(reply_to("/help").contains("/start"));
        assert_eq!(reply_to("what?"), "I don't know that yet, try /help");
    }
}
