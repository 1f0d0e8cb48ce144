//! One function per command group: call the library, shape the output.

use anyhow::{Result, bail};
use serde_json::json;
use whatsup::client::capability;
use whatsup::client::events::{format_time, parse_time, starts_in};
use whatsup::client::feed::FeedKind;
use whatsup::client::media::prepare_file;
use whatsup::client::profile::{Profile, ProfileUpdate};
use whatsup::client::search::{Hit, Index};
use whatsup::client::text::split_list;
use whatsup::client::{Client, Identity, vcard};

use super::args::{
    CardCmd, Cli, Command, CommunityCmd, EventCmd, NewsCmd, PeopleArgs, PollCmd, PostCmd,
    PresenceArgs, PresenceCmd, ProfileCmd, ProfileFields, SearchKind,
};
use super::output::{Output, lines};
use super::{connect, home};

/// Dispatches a command.
pub async fn run(cli: Cli) -> Result<Output> {
    let home = home(&cli)?;
    let Some(command) = &cli.command else {
        bail!("no command");
    };
    match command {
        Command::Capability => return Ok(capability_output(&home)),
        Command::Init { username } => return init(&cli, &home, username).await,
        _ => {}
    }
    let me = Identity::load(&home)?;
    let connection = connect(&cli, &home, Some(me)).await?;
    refresh_on_start(&connection.client, &home).await;
    let output = dispatch(&connection.client, &cli, &home, command).await?;
    connection.remember();
    Ok(output)
}

async fn dispatch(
    client: &Client,
    cli: &Cli,
    home: &std::path::Path,
    command: &Command,
) -> Result<Output> {
    let client = client.clone();
    match command {
        Command::Profile(cmd) => profile(&client, cmd).await,
        Command::Card(cmd) => card(&client, cmd).await,
        Command::People(args) => people(&client, args).await,
        Command::Post(cmd) => post(&client, cmd).await,
        Command::Community(cmd) => community(&client, cmd).await,
        Command::News(cmd) => news(&client, cmd).await,
        Command::Event(cmd) => event(&client, cmd).await,
        Command::Poll(cmd) => poll(&client, cmd).await,
        Command::Presence(args) => presence(&client, args).await,
        Command::Alerts { follow, timeout } => {
            alerts(&client, home, *follow, *timeout, cli.json).await
        }
        other => social(&client, other).await,
    }
}

/// File in the home holding the time (Unix ms) of the last refresh of long-lived records.
const REFRESHED_FILE: &str = "refreshed";

/// Refreshes my long-lived records when due ([`Client::refresh_if_due`]). A failure is only
/// logged: the command itself still runs (and reports an unreachable DHT on its own).
async fn refresh_on_start(client: &Client, home: &std::path::Path) {
    let path = home.join(REFRESHED_FILE);
    let last = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| t.trim().parse::<u64>().ok());
    match client.refresh_if_due(last).await {
        Ok(Some(now)) => {
            if let Err(e) = std::fs::write(&path, now.to_string()) {
                tracing::warn!(%e, "cannot save the refresh time");
            }
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(%e, "refreshing long-lived records failed"),
    }
}

async fn init(cli: &Cli, home: &std::path::Path, username: &str) -> Result<Output> {
    let me = Identity::load_or_generate(home, username)?;
    let connection = connect(cli, home, Some(me.clone())).await?;
    connection.client.claim_username().await?;
    me.save(home)?;
    // The claim was just written: the first refresh is due a day from now.
    if !home.join(REFRESHED_FILE).exists() {
        let _ = std::fs::write(
            home.join(REFRESHED_FILE),
            connection.client.now_ms().to_string(),
        );
    }
    connection.remember();
    let key = hex::encode(me.verifying_key().as_bytes());
    let value = json!({ "username": me.username, "key": key, "home": home });
    Ok(Output::new(
        &value,
        format!("You are {} (key {key})", me.username),
    ))
}

fn capability_output(home: &std::path::Path) -> Output {
    let assessment = capability::assess(capability::read(home));
    let c = &assessment.capability;
    let gib = |b: u64| b as f64 / f64::from(1u32 << 30);
    let mut text = format!(
        "cores: {}\nmemory: {:.1} GiB total, {:.1} GiB available\ndisk free: {:.1} GiB\npower: {:?}\nsuper-node: {}",
        c.cores,
        gib(c.memory_total),
        gib(c.memory_available),
        gib(c.disk_free),
        c.power,
        if assessment.super_node { "yes" } else { "no" },
    );
    for reason in &assessment.reasons {
        text.push_str(&format!("\n  {reason}"));
    }
    Output::new(&assessment, text)
}

fn profile_text(p: &Profile) -> String {
    let mut text = format!(
        "{} ({})",
        if p.full_name.is_empty() {
            &p.username
        } else {
            &p.full_name
        },
        p.username
    );
    for (label, value) in [
        ("title", &p.title),
        ("company", &p.company),
        ("email", &p.email),
        ("phone", &p.phone),
        ("about", &p.about),
    ] {
        if !value.is_empty() {
            text.push_str(&format!("\n{label}: {value}"));
        }
    }
    if !p.interests.is_empty() {
        text.push_str(&format!("\ninterests: {}", p.interests.join(", ")));
    }
    if let Some(photo) = &p.photo {
        text.push_str(&format!(
            "\nphoto: {}x{} (blob {})",
            photo.width,
            photo.height,
            hex::encode(photo.blob)
        ));
    }
    text
}

async fn profile(client: &Client, cmd: &ProfileCmd) -> Result<Output> {
    match cmd {
        ProfileCmd::Set(fields) => {
            let update = profile_update(client, fields).await?;
            let profile = client.set_profile(update).await?;
            Ok(Output::new(&profile, profile_text(&profile)))
        }
        ProfileCmd::Show { user } => {
            let user = match user {
                Some(user) => user.clone(),
                None => client.me()?.username.clone(),
            };
            match client.profile(&user).await? {
                Some(p) => Ok(Output::new(&p, profile_text(&p))),
                None => Ok(Output::new(
                    &json!({ "username": user }),
                    format!("{user} has no profile yet"),
                )),
            }
        }
    }
}

async fn profile_update(client: &Client, f: &ProfileFields) -> Result<ProfileUpdate> {
    // Read the photo before anything is written: an unreadable image writes nothing.
    let photo = match &f.photo {
        Some(path) => Some(client.store_image(prepare_file(path)?).await?),
        None => None,
    };
    Ok(ProfileUpdate {
        full_name: f.name.clone(),
        company: f.company.clone(),
        title: f.title.clone(),
        interests: f.interests.as_deref().map(split_list),
        email: f.email.clone(),
        phone: f.phone.clone(),
        about: f.about.clone(),
        photo,
    })
}

async fn card(client: &Client, cmd: &CardCmd) -> Result<Output> {
    match cmd {
        CardCmd::Export { user } => {
            let Some(profile) = client.profile(user).await? else {
                bail!("{user} has no profile to export");
            };
            let card = vcard::export(&profile);
            Ok(Output::new(
                &json!({ "vcard": card }),
                card.trim_end().to_owned(),
            ))
        }
        CardCmd::Import { file } => {
            let text = std::fs::read_to_string(file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let update = vcard::import(&text)?;
            let profile = client.set_profile(update).await?;
            Ok(Output::new(&profile, profile_text(&profile)))
        }
    }
}

fn hits_output(hits: &[Hit], empty: &str) -> Output {
    let text = lines(
        hits.iter()
            .map(|h| format!("{}  {}  (by {})", h.target, h.label, h.author)),
        empty,
    );
    Output::new(&hits, text)
}

async fn people(client: &Client, args: &PeopleArgs) -> Result<Output> {
    let (index, query) = match (&args.interest, &args.company, &args.name) {
        (Some(q), _, _) => (Index::Interest, q),
        (_, Some(q), _) => (Index::Company, q),
        (_, _, Some(q)) => (Index::Name, q),
        _ => bail!("give --interest, --company or --name"),
    };
    let hits = client.search(index, query).await?;
    Ok(hits_output(&hits, "nobody found"))
}

async fn post(client: &Client, cmd: &PostCmd) -> Result<Output> {
    let post = match cmd {
        PostCmd::Text { text } => client.post_text(text).await?,
        PostCmd::Link { url, title } => client.post_link(url, title).await?,
        PostCmd::Image { file, caption } => {
            let image = prepare_file(file)?;
            client.post_image(image, caption).await?
        }
    };
    Ok(Output::new(&post, post.id.clone()))
}

async fn social(client: &Client, command: &Command) -> Result<Output> {
    match command {
        Command::Posts { user } => {
            let posts = client.posts_of(user).await?;
            let text = lines(
                posts
                    .iter()
                    .map(|p| format!("{}  {}  {}", p.id, format_time(p.at), p.body.summary())),
                "no posts",
            );
            Ok(Output::new(&posts, text))
        }
        Command::Comment { post_id, text } => {
            let comment = client.comment(post_id, text).await?;
            Ok(Output::new(&comment, "comment posted"))
        }
        Command::Comments { post_id } => {
            client.post(post_id).await?;
            let list = client.comments(post_id).await?;
            let text = lines(
                list.iter().map(|(a, c)| format!("{a}: {}", c.text)),
                "no comments",
            );
            let value: Vec<_> = list
                .iter()
                .map(|(a, c)| json!({ "author": a, "text": c.text, "at": c.at }))
                .collect();
            Ok(Output::new(&value, text))
        }
        Command::Follow { user } => {
            client.follow(user).await?;
            Ok(Output::new(
                &json!({ "following": user }),
                format!("following {user}"),
            ))
        }
        Command::Feed { page } => feed(client, *page).await,
        other => talk(client, other).await,
    }
}

async fn talk(client: &Client, command: &Command) -> Result<Output> {
    match command {
        Command::Message { user, text } => {
            client.send_message(user, text).await?;
            Ok(Output::new(
                &json!({ "to": user, "sent": true }),
                format!("message sent to {user}"),
            ))
        }
        Command::Inbox => {
            let messages = client.inbox().await?;
            let text = lines(
                messages
                    .iter()
                    .map(|m| format!("{}  {}: {}", format_time(m.at), m.from, m.text)),
                "no messages",
            );
            Ok(Output::new(&messages, text))
        }
        Command::Search { kind, query } => search(client, *kind, query).await,
        Command::Services => {
            let services = client.services().await?;
            let text = lines(
                services
                    .iter()
                    .map(|s| format!("{}  {}", s.id, s.providers.join(" "))),
                "no services",
            );
            Ok(Output::new(&services, text))
        }
        _ => bail!("unexpected command"),
    }
}

async fn feed(client: &Client, page: u32) -> Result<Output> {
    let items = client.feed(usize::try_from(page)?).await?;
    let text = lines(
        items.iter().map(|item| {
            let what = match &item.kind {
                FeedKind::Post { post } => format!("post {}: {}", post.id, post.body.summary()),
                FeedKind::News { news } => format!("news in {}: {}", news.community, news.text),
                FeedKind::Event { event } => format!(
                    "event {} in {}: {} at {}",
                    event.id,
                    event.community,
                    event.title,
                    format_time(event.starts_at)
                ),
            };
            format!("{}  {}  {what}", format_time(item.at), item.author)
        }),
        "nothing in your feed",
    );
    Ok(Output::new(&items, text))
}

async fn search(client: &Client, kind: SearchKind, query: &str) -> Result<Output> {
    match kind {
        SearchKind::People => Ok(hits_output(
            &client.search(Index::People, query).await?,
            "nobody found",
        )),
        SearchKind::Content => Ok(hits_output(
            &client.search(Index::Content, query).await?,
            "nothing found",
        )),
        SearchKind::Communities => Ok(hits_output(
            &client.search(Index::Community, query).await?,
            "no community found",
        )),
        SearchKind::Services => {
            let services = client.search_services(query).await?;
            let text = lines(
                services
                    .iter()
                    .map(|s| format!("{}  {}", s.id, s.providers.join(" "))),
                "no service found",
            );
            Ok(Output::new(&services, text))
        }
    }
}

async fn community(client: &Client, cmd: &CommunityCmd) -> Result<Output> {
    match cmd {
        CommunityCmd::Create { name, description } => {
            let c = client.create_community(name, description).await?;
            Ok(Output::new(&c, format!("created {}", c.id)))
        }
        CommunityCmd::Join { name } => {
            let c = client.join(name).await?;
            Ok(Output::new(&c, format!("joined {}", c.id)))
        }
        CommunityCmd::Leave { name } => {
            let c = client.leave(name).await?;
            Ok(Output::new(&c, format!("left {}", c.id)))
        }
        CommunityCmd::List => {
            let list = client.communities().await?;
            let text = lines(
                list.iter().map(|c| format!("{}  {}", c.id, c.description)),
                "no communities",
            );
            Ok(Output::new(&list, text))
        }
        CommunityCmd::Show { name } => {
            let info = client.community_info(name).await?;
            let text = format!(
                "{} ({})\n{}\ncreated by {}\nmembers: {}",
                info.community.name,
                info.community.id,
                info.community.description,
                info.creator,
                info.members.join(", ")
            );
            Ok(Output::new(&info, text))
        }
    }
}

async fn news(client: &Client, cmd: &NewsCmd) -> Result<Output> {
    match cmd {
        NewsCmd::Post { community, text } => {
            let news = client.post_news(community, text).await?;
            Ok(Output::new(&news, "news posted"))
        }
        NewsCmd::List { community } => {
            let list = client.news(community).await?;
            let text = lines(
                list.iter()
                    .map(|(a, n)| format!("{}  {a}: {}", format_time(n.at), n.text)),
                "no news",
            );
            let value: Vec<_> = list
                .iter()
                .map(|(a, n)| json!({ "author": a, "news": n }))
                .collect();
            Ok(Output::new(&value, text))
        }
    }
}

async fn event(client: &Client, cmd: &EventCmd) -> Result<Output> {
    let now = client.now_ms();
    match cmd {
        EventCmd::Create {
            community,
            title,
            at,
            place,
        } => {
            let starts = parse_time(at)?;
            let e = client.create_event(community, title, starts, place).await?;
            Ok(Output::new(&e, e.id.clone()))
        }
        EventCmd::Subscribe { event_id } => {
            let e = client.subscribe(event_id).await?;
            Ok(Output::new(
                &e,
                format!(
                    "subscribed to {} ({})",
                    e.title,
                    starts_in(e.starts_at, now)
                ),
            ))
        }
        EventCmd::List { community } => {
            let list = client.events(community).await?;
            let text = lines(
                list.iter().map(|(_, e)| {
                    format!(
                        "{}  {}  {}  {}  {}",
                        e.id,
                        e.title,
                        format_time(e.starts_at),
                        starts_in(e.starts_at, now),
                        e.place
                    )
                }),
                "no events",
            );
            let value: Vec<_> = list.iter().map(|(a, e)| json!({ "author": a, "event": e, "starts_in": starts_in(e.starts_at, now) })).collect();
            Ok(Output::new(&value, text))
        }
    }
}

async fn poll(client: &Client, cmd: &PollCmd) -> Result<Output> {
    match cmd {
        PollCmd::Create {
            community,
            question,
            options,
        } => {
            let p = client.create_poll(community, question, options).await?;
            Ok(Output::new(&p, p.id.clone()))
        }
        PollCmd::Vote { poll_id, option } => {
            client.vote(poll_id, option).await?;
            Ok(Output::new(
                &json!({ "poll": poll_id, "vote": option }),
                "vote recorded",
            ))
        }
        PollCmd::Results { poll_id } => {
            let r = client.results(poll_id).await?;
            let mut text = format!("{} ({} voters)", r.poll.question, r.voters);
            for (option, count) in &r.counts {
                text.push_str(&format!("\n  {count:>4}  {option}"));
            }
            Ok(Output::new(&r, text))
        }
    }
}

async fn presence(client: &Client, args: &PresenceArgs) -> Result<Output> {
    let p = match (&args.set, &args.user) {
        (Some(PresenceCmd::Set { state, note }), _) => {
            client.set_presence(state.parse()?, note).await?
        }
        (None, Some(user)) => client.presence(user).await?,
        (None, None) => bail!("give `presence set STATE` or `presence USER`"),
    };
    let text = if p.note.is_empty() {
        format!("{:?}", p.state).to_lowercase()
    } else {
        format!("{:?} — {}", p.state, p.note).to_lowercase()
    };
    Ok(Output::new(&p, text))
}

async fn alerts(
    client: &Client,
    home: &std::path::Path,
    follow: bool,
    timeout: u32,
    json: bool,
) -> Result<Output> {
    use whatsup::client::alerts::Alerts;
    let cursor_file = home.join("alerts.cursor");
    let cursor = std::fs::read_to_string(&cursor_file).unwrap_or_default();
    let mut alerts = Alerts::start(client, cursor.trim()).await?;
    let mut all = Vec::new();
    loop {
        let batch = alerts.next(timeout).await?;
        std::fs::write(&cursor_file, alerts.cursor())?;
        if follow {
            for alert in &batch {
                let line = if json {
                    serde_json::to_string(alert)?
                } else {
                    alert.to_string()
                };
                println!("{line}");
            }
        } else {
            all.extend(batch);
            return Ok(Output::new(
                &all,
                lines(all.iter().map(ToString::to_string), "no new alerts"),
            ));
        }
    }
}
