//! `whatsup`: the What's UP desktop app (with no subcommand) and command line.

mod cli;

use std::process::ExitCode;

use clap::{CommandFactory as _, Parser as _};

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WHATSUP_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = cli::Cli::parse();
    if cli.command.is_none() {
        if !has_display() {
            // A terminal with no desktop (ssh, CI): the command line is what can be used.
            eprintln!("whatsup: no display to open the window on; the command line:");
            let _ = cli::Cli::command().print_help();
            return ExitCode::SUCCESS;
        }
        return match whatsup::gui::run(cli.home.clone()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&e, cli.json),
        };
    }
    let json = cli.json;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return fail(&anyhow::anyhow!(e), json),
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(output) => {
            println!("{}", output.render(json));
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e, json),
    }
}

fn fail(error: &anyhow::Error, json: bool) -> ExitCode {
    let message = format!("{error:#}");
    if json {
        println!("{}", serde_json::json!({ "error": message }));
    }
    eprintln!("whatsup: {message}");
    ExitCode::FAILURE
}

/// True when a window can be opened (an X11 or Wayland display is set).
fn has_display() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
}
