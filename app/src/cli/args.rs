//! The command line's grammar (issue 6): the names scripts rely on.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// What's UP: the peer-to-peer social network of your conference.
#[derive(Debug, Parser)]
#[command(name = "whatsup", version, about, arg_required_else_help = false)]
pub struct Cli {
    /// Profile directory (identity and settings); default: the platform's data directory.
    #[arg(long, global = true, value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// Super-node gateway URL (comma-separated for several); default: found by mDNS.
    #[arg(long, global = true, value_name = "URL")]
    pub gateway: Option<String>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// The command; with none, the desktop app (not yet: prints this help).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create my identity and claim USERNAME.
    Init {
        /// The username to claim.
        username: String,
    },
    /// Set or show profiles.
    #[command(subcommand)]
    Profile(ProfileCmd),
    /// Export or import vCards.
    #[command(subcommand)]
    Card(CardCmd),
    /// Find people by interest, company or name.
    People(PeopleArgs),
    /// Post text, a link or an image.
    #[command(subcommand)]
    Post(PostCmd),
    /// A user's posts.
    Posts {
        /// The user.
        user: String,
    },
    /// Comment on a post.
    Comment {
        /// The post id.
        post_id: String,
        /// The comment.
        text: String,
    },
    /// The comments on a post.
    Comments {
        /// The post id.
        post_id: String,
    },
    /// Follow a user.
    Follow {
        /// The user.
        user: String,
    },
    /// Communities.
    #[command(subcommand)]
    Community(CommunityCmd),
    /// Community news.
    #[command(subcommand)]
    News(NewsCmd),
    /// Community events.
    #[command(subcommand)]
    Event(EventCmd),
    /// Community polls.
    #[command(subcommand)]
    Poll(PollCmd),
    /// News, events and posts from my communities and the people I follow.
    Feed {
        /// Page, from 1.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        page: u32,
    },
    /// New news, events, comments and messages.
    Alerts {
        /// Keep printing alerts as they happen.
        #[arg(long)]
        follow: bool,
        /// Seconds to wait for something new (with --follow: for each wait).
        #[arg(long, default_value_t = 0)]
        timeout: u32,
    },
    /// Send an end-to-end encrypted message.
    Message {
        /// The recipient.
        user: String,
        /// The text.
        text: String,
    },
    /// My messages.
    Inbox,
    /// Set my presence (`presence set STATE`) or show a user's (`presence USER`).
    Presence(PresenceArgs),
    /// Search people, content, services or communities.
    Search {
        /// What to search.
        #[arg(value_enum)]
        kind: SearchKind,
        /// The words.
        query: String,
    },
    /// The global service list.
    Services,
    /// This device's resources and whether it should be a super-node.
    Capability,
}

/// `profile set|show`.
#[derive(Debug, Subcommand)]
pub enum ProfileCmd {
    /// Change my profile (only the fields given).
    Set(ProfileFields),
    /// Show a profile (mine by default).
    Show {
        /// The user.
        user: Option<String>,
    },
}

/// Fields of `profile set`.
#[derive(Debug, Args)]
pub struct ProfileFields {
    /// Full name.
    #[arg(long)]
    pub name: Option<String>,
    /// Company.
    #[arg(long)]
    pub company: Option<String>,
    /// Job title.
    #[arg(long)]
    pub title: Option<String>,
    /// Interests, comma-separated.
    #[arg(long)]
    pub interests: Option<String>,
    /// E-mail.
    #[arg(long)]
    pub email: Option<String>,
    /// Phone.
    #[arg(long)]
    pub phone: Option<String>,
    /// About me.
    #[arg(long)]
    pub about: Option<String>,
    /// Photo file.
    #[arg(long, value_name = "FILE")]
    pub photo: Option<PathBuf>,
}

/// `card export|import`.
#[derive(Debug, Subcommand)]
pub enum CardCmd {
    /// Print USER's vCard.
    Export {
        /// The user.
        user: String,
    },
    /// Fill my profile from a vCard file.
    Import {
        /// The file.
        file: PathBuf,
    },
}

/// `people (--interest X | --company Y | --name Z)`.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct PeopleArgs {
    /// Interest words.
    #[arg(long)]
    pub interest: Option<String>,
    /// Company words.
    #[arg(long)]
    pub company: Option<String>,
    /// Name words.
    #[arg(long)]
    pub name: Option<String>,
}

/// `post text|link|image`.
#[derive(Debug, Subcommand)]
pub enum PostCmd {
    /// Post text.
    Text {
        /// The text.
        text: String,
    },
    /// Post a link.
    Link {
        /// The URL.
        url: String,
        /// Title.
        #[arg(long, default_value = "")]
        title: String,
    },
    /// Post an image.
    Image {
        /// The image file.
        file: PathBuf,
        /// Caption.
        #[arg(long, default_value = "")]
        caption: String,
    },
}

/// `community …`.
#[derive(Debug, Subcommand)]
pub enum CommunityCmd {
    /// Create a community (and join it).
    Create {
        /// Its name.
        name: String,
        /// Description.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Join a community.
    Join {
        /// Its name.
        name: String,
    },
    /// Leave a community.
    Leave {
        /// Its name.
        name: String,
    },
    /// All communities.
    List,
    /// One community with its members.
    Show {
        /// Its name.
        name: String,
    },
}

/// `news post|list`.
#[derive(Debug, Subcommand)]
pub enum NewsCmd {
    /// Post news in a community.
    Post {
        /// The community.
        community: String,
        /// The text.
        text: String,
    },
    /// A community's news.
    List {
        /// The community.
        community: String,
    },
}

/// `event create|subscribe|list`.
#[derive(Debug, Subcommand)]
pub enum EventCmd {
    /// Create an event.
    Create {
        /// The community.
        community: String,
        /// Title.
        #[arg(long)]
        title: String,
        /// Start, RFC 3339 (e.g. 2026-05-04T18:00:00+02:00).
        #[arg(long)]
        at: String,
        /// Place.
        #[arg(long, default_value = "")]
        place: String,
    },
    /// Subscribe to an event.
    Subscribe {
        /// The event id.
        event_id: String,
    },
    /// A community's events.
    List {
        /// The community.
        community: String,
    },
}

/// `poll create|vote|results`.
#[derive(Debug, Subcommand)]
pub enum PollCmd {
    /// Create a poll.
    Create {
        /// The community.
        community: String,
        /// The question.
        question: String,
        /// An option (give at least two).
        #[arg(long = "option", required = true)]
        options: Vec<String>,
    },
    /// Vote (again to change the vote).
    Vote {
        /// The poll id.
        poll_id: String,
        /// The option (text or number from 1).
        option: String,
    },
    /// Count the votes.
    Results {
        /// The poll id.
        poll_id: String,
    },
}

/// `presence set STATE [--note T]` or `presence USER`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct PresenceArgs {
    /// Set my presence.
    #[command(subcommand)]
    pub set: Option<PresenceCmd>,
    /// Whose presence to show.
    pub user: Option<String>,
}

/// `presence set`.
#[derive(Debug, Subcommand)]
pub enum PresenceCmd {
    /// Set my presence.
    Set {
        /// online, away or busy.
        state: String,
        /// A note.
        #[arg(long, default_value = "")]
        note: String,
    },
}

/// What `search` looks in.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum SearchKind {
    /// Profiles.
    People,
    /// Posts, news and events.
    Content,
    /// The service list.
    Services,
    /// Communities.
    Communities,
}
