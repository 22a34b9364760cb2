//! The command line, as clap types. One subcommand per verb; each verb's
//! code lives in `cmd/<verb>.rs`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Setu: signed public-service practices, shared peer to peer between the
/// innovation agencies of the South.
#[derive(Debug, Parser)]
#[command(name = "setu", version, about, max_term_width = 100)]
pub struct Cli {
    /// The node's data directory.
    #[arg(
        long,
        global = true,
        env = "SETU_DATA_DIR",
        default_value = "setu-data"
    )]
    pub data_dir: PathBuf,
    /// How log lines (stderr) are written: text (plain, coloured only on a
    /// terminal) or json (one object per line, for a log collector). What
    /// is logged is chosen by SETU_LOG (default: warn).
    #[arg(
        long,
        global = true,
        value_enum,
        env = "SETU_LOG_FORMAT",
        default_value_t = LogFormat::Text
    )]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Publisher keys: generate one, show its public key.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Signed records: sign a body, verify or inspect a record.
    #[command(subcommand)]
    Record(RecordCommand),
    /// Creates a data directory: publisher key, API token, setu.toml.
    Init(InitArgs),
    /// Founding a network: draft a charter, sign it, seal it, show it.
    #[command(subcommand)]
    Charter(CharterCommand),
    /// The network's members: their keys, delegates, roles, and pending
    /// operations (`--history`: how each came to be).
    Members(MembersArgs),
    /// Signs a membership operation with this node's key and publishes it.
    #[command(subcommand)]
    Member(MemberCommand),
    /// Signs a body as this node's publisher and stores it: a practice, or
    /// with --kind an adoption report or a need (seeking). A practice or
    /// adoption body may list local files in `attachments` ([{"file":
    /// PATH, "title": ..., "category": ...}], paths relative to the body):
    /// each is hashed and gets its attachment record.
    Publish(PublishArgs),
    /// Withdraws one of this publisher's practices (or with --kind, adoption
    /// reports or needs). Final.
    Withdraw(WithdrawArgs),
    /// Imports JSON Lines of practice bodies, signed as this node's publisher.
    Import(ImportArgs),
    /// Searches the local replica.
    Query(QueryArgs),
    /// Shows a practice (by practice id or record id) with a citation.
    Show(ShowArgs),
    /// Exports the replica (or a query's matches) as JSONL, CSV or Parquet.
    Export(ExportArgs),
    /// Rebuilds the search index from the store.
    Reindex(JsonArg),
    /// Shows the replica's state, including how far the index lags.
    Status(JsonArg),
    /// Runs the node: peers, gossip, sync, and the HTTP API.
    Run(RunArgs),
    /// Lists the peers of the running node.
    Peers(JsonArg),
    /// Starts three nodes on loopback, replicates the sample catalogue
    /// between them, and shows it happen.
    Demo(DemoArgs),
    /// Where has a practice scaled? Adopting countries by stage, years
    /// from origin, TCV at origin against each adopter.
    Scaling(ScalingArgs),
    /// Adds a file (a report, toolkit, video...) to a practice, or with
    /// --adoption to an adoption report: keeps it by its BLAKE3 hash and
    /// publishes an attachment record naming it.
    Attach(AttachArgs),
    /// Fetches an attachment's content from the peers that hold it, through
    /// the running daemon, resuming what was verified before.
    Fetch(FetchArgs),
    /// Pins an attachment's content (never collected), or unpins it.
    Pin(ContentArgs),
    /// Refuses an attachment's content on this node (a takedown: removed,
    /// never stored or served again; the record stays), or lifts it.
    Deny(ContentArgs),
    /// Ranks the practices that fit a need (a seeking record, or words,
    /// SDG targets and sectors), each with its reasons; or, with
    /// --offers, the open needs this node's practices fit.
    Match(MatchArgs),
}

/// The record kinds a node publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Kind {
    /// A practice (spec/record.md §6).
    #[default]
    Practice,
    /// An adoption report: this agency adopted another's practice (§6b).
    Adoption,
    /// A need this agency seeks practices for (§6c).
    Seeking,
}

impl Kind {
    /// The kind's name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Practice => "practice",
            Kind::Adoption => "adoption",
            Kind::Seeking => "seeking",
        }
    }
}

/// Output formats of `setu scaling`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TableFormat {
    /// A table for people.
    Table,
    /// One JSON document.
    Json,
    /// CSV, one row per adoption.
    Csv,
}

/// Arguments of `setu scaling`.
#[derive(Debug, Args)]
pub struct ScalingArgs {
    /// One practice (practice id or record id); else every adopted practice.
    #[arg(long)]
    pub practice: Option<String>,
    /// The publisher, when several publish the same practice id.
    #[arg(long)]
    pub publisher: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TableFormat::Table)]
    pub format: TableFormat,
}

/// Arguments of `setu match`.
#[derive(Debug, Args)]
pub struct MatchArgs {
    /// A seeking id (or record id) this node holds: match its need.
    #[arg(conflicts_with = "offers")]
    pub seeking: Option<String>,
    /// The need in words, any language.
    #[arg(long)]
    pub text: Option<String>,
    /// SDG target (16.6) or goal (16). Repeatable.
    #[arg(long)]
    pub sdg: Vec<String>,
    /// Sector: dac5:15110 or cofog:01.3. Repeatable.
    #[arg(long = "sector")]
    pub sectors: Vec<String>,
    /// national, subnational or local.
    #[arg(long)]
    pub gov_level: Option<String>,
    /// The open needs of other agencies that this node's practices fit.
    #[arg(long)]
    pub offers: bool,
    /// Matches to show.
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TableFormat::Table)]
    pub format: TableFormat,
}

/// `--json`, for verbs whose only option it is.
#[derive(Debug, Args)]
pub struct JsonArg {
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `setu run`. Flags override `setu.toml`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// libp2p address to listen on for peers (repeatable), e.g. /ip4/0.0.0.0/tcp/7000.
    #[arg(long)]
    pub listen: Vec<String>,
    /// A peer to dial (repeatable), e.g. /ip4/127.0.0.1/tcp/7001/p2p/12D3KooW...
    #[arg(long = "peer")]
    pub peers: Vec<String>,
    /// Where the HTTP API listens, e.g. 127.0.0.1:7180.
    #[arg(long)]
    pub api: Option<String>,
    /// Turn off mDNS discovery.
    #[arg(long)]
    pub no_mdns: bool,
    /// The network name.
    #[arg(long)]
    pub network: Option<String>,
    /// Serve as a circuit relay for nodes behind NAT (network.relay).
    #[arg(long)]
    pub relay: bool,
    /// Reserve a slot on this relay, to be reachable through it from behind
    /// NAT (repeatable; network.relays), e.g. /ip4/192.0.2.10/tcp/7000/p2p/12D3KooW...
    #[arg(long = "relay-via")]
    pub relay_via: Vec<String>,
}

/// Arguments of `setu demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Leave the three nodes running (until Ctrl-C) and print their HTTP addresses.
    #[arg(long)]
    pub keep: bool,
}

/// Arguments of `setu init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The agency's country, ISO 3166-1 alpha-3 (e.g. BGD). With
    /// `--charter` and a member's `--key`, taken from the charter.
    #[arg(long)]
    pub country: Option<String>,
    /// The agency's name (e.g. a2i). With `--charter` and a member's
    /// `--key`, taken from the charter.
    #[arg(long)]
    pub agency: Option<String>,
    /// Join the network this sealed charter founds (else an open network).
    #[arg(long)]
    pub charter: Option<PathBuf>,
    /// Publish with this existing key (PKCS#8 PEM) instead of a new one:
    /// a founder's or member's key.
    #[arg(long)]
    pub key: Option<PathBuf>,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `setu publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The body, JSON; `-` for standard input.
    pub body: PathBuf,
    /// What the body is.
    #[arg(long, value_enum, default_value_t = Kind::Practice)]
    pub kind: Kind,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `setu attach`.
#[derive(Debug, Args)]
pub struct AttachArgs {
    /// The practice id the file belongs to (one of this publisher's, or
    /// another's with --publisher); with --adoption, an adoption report's
    /// id.
    pub practice_id: String,
    /// The id names an adoption report (its `adoption_id`), not a practice:
    /// the file is the report's evidence.
    #[arg(long)]
    pub adoption: bool,
    /// The file.
    pub file: PathBuf,
    /// Its title, in English (or --title-lang).
    #[arg(long)]
    pub title: String,
    /// The language of --title, ISO 639-1.
    #[arg(long, default_value = "en")]
    pub title_lang: String,
    /// report, toolkit, infographic, video, audio, dataset or other.
    #[arg(long)]
    pub category: String,
    /// The language of the content, ISO 639-1.
    #[arg(long, default_value = "en")]
    pub language: String,
    /// Its media type, e.g. video/webm (default: from the file's extension).
    #[arg(long)]
    pub media_type: Option<String>,
    /// An SPDX licence id (default: the practice's licence).
    #[arg(long)]
    pub licence: Option<String>,
    /// The practice's (or adoption report's) publisher, a hex author key
    /// (default: this node's).
    #[arg(long)]
    pub publisher: Option<String>,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `setu fetch`.
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// The content's BLAKE3 hash, 64 hex digits (as `setu attach` printed
    /// it, or GET /v1/attachments lists it).
    pub hash: String,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `setu pin` and `setu deny`.
#[derive(Debug, Args)]
pub struct ContentArgs {
    /// The content's BLAKE3 hash, 64 hex digits.
    pub hash: String,
    /// Undo: unpin, or lift the refusal.
    #[arg(long)]
    pub off: bool,
}

/// Arguments of `setu withdraw`.
#[derive(Debug, Args)]
pub struct WithdrawArgs {
    /// The practice id (or adoption_id, seeking_id with --kind).
    pub practice_id: String,
    /// What it withdraws.
    #[arg(long, value_enum, default_value_t = Kind::Practice)]
    pub kind: Kind,
    /// Why it is withdrawn.
    #[arg(long)]
    pub reason: String,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `setu import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// JSON Lines of practice bodies; `-` for standard input.
    pub file: PathBuf,
    /// Validate every row; store nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// One JSON line per stored batch and per rejected row, then a summary.
    #[arg(long)]
    pub json: bool,
}

/// Output formats of `setu query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table for people.
    Table,
    /// One JSON document.
    Json,
    /// One JSON object per line.
    Jsonl,
}

/// Arguments of `setu query`.
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// What to match.
    #[command(flatten)]
    pub filters: crate::filters::Filters,
    /// Results to show.
    #[arg(long, default_value_t = 20, conflicts_with = "all")]
    pub limit: usize,
    /// Every result.
    #[arg(long)]
    pub all: bool,
    /// Results to skip.
    #[arg(long, default_value_t = 0)]
    pub offset: usize,
    /// Also count the matches by country, SDG goal, sector and status.
    #[arg(long)]
    pub facets: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Same as --format json.
    #[arg(long)]
    pub json: bool,
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// Lossless: the signed bytes in base64 plus the decoded JSON, one record per line.
    Jsonl,
    /// One row per practice, a column per language, with a Frictionless datapackage.json.
    Csv,
    /// Nested lists and language maps, TCV reductions as columns.
    Parquet,
}

/// Arguments of `setu export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Output format.
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    /// The file to write (CSV also writes datapackage.json beside it).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace the file (and datapackage.json) if it exists.
    #[arg(long)]
    pub force: bool,
    /// The same filters as `setu query`.
    #[command(flatten)]
    pub filters: crate::filters::Filters,
}

/// Arguments of `setu show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A practice id (BGD-A2I-0001) or a record id (64 hex digits).
    pub id: String,
    /// Every revision.
    #[arg(long)]
    pub history: bool,
    /// The publisher, when several publish the same practice id.
    #[arg(long)]
    pub publisher: Option<String>,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// `setu keys ...`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Writes a new Ed25519 key as PKCS#8 v1 PEM, readable only by you (0600).
    Generate {
        /// Where to write the key.
        #[arg(long)]
        out: PathBuf,
        /// Replace the file if it exists.
        #[arg(long)]
        force: bool,
        /// Encrypt the key under a passphrase (encrypted PKCS#8: PBES2 with
        /// PBKDF2-HMAC-SHA256 and AES-256-CBC, which openssl reads). The
        /// passphrase is asked for twice on the terminal, or read from the
        /// variable --passphrase-env names.
        #[arg(long)]
        encrypt: bool,
        /// The environment variable that holds the passphrase (for scripts
        /// and CI, where there is no terminal).
        #[arg(long, value_name = "VAR", requires = "encrypt")]
        passphrase_env: Option<String>,
    },
    /// Prints the public key (the author id) of a key file as hex.
    Show {
        /// A PKCS#8 PEM key file, plain or encrypted.
        file: PathBuf,
        /// For an encrypted key: the environment variable that holds its
        /// passphrase (otherwise it is asked for on the terminal).
        #[arg(long, value_name = "VAR")]
        passphrase_env: Option<String>,
    },
}

/// `setu record ...`
#[derive(Debug, Subcommand)]
pub enum RecordCommand {
    /// Signs a JSON body; the output is reproducible when --seq and --ts are given.
    Sign(SignArgs),
    /// Checks a signed record (binary or hex); exits 0 if valid, 1 if not.
    Verify {
        /// The signed record: raw bytes, hex, base64, or a line of a JSONL export; `-` for standard input.
        file: PathBuf,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Prints a signed record as JSON.
    Inspect {
        /// The signed record: raw bytes, hex, base64, or a line of a JSONL export; `-` for standard input.
        file: PathBuf,
    },
}

/// Arguments of `setu record sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// The publisher's key file (PKCS#8 PEM).
    #[arg(long)]
    pub key: PathBuf,
    /// The author's sequence number.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub seq: u64,
    /// The timestamp, in milliseconds since the Unix epoch [default: now].
    #[arg(long)]
    pub ts: Option<u64>,
    /// The record kind.
    #[arg(long, default_value = "practice")]
    pub kind: String,
    /// The body, as JSON; `-` for standard input.
    pub body: PathBuf,
    /// Where to write the signed record [default: standard output, if it is not a terminal].
    /// Never the key or the body.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace the --out file if it exists.
    #[arg(long, requires = "out")]
    pub force: bool,
    /// Write hex instead of raw bytes.
    #[arg(long)]
    pub hex: bool,
}

/// `setu charter ...`
#[derive(Debug, Subcommand)]
pub enum CharterCommand {
    /// Drafts a charter from a members file (TOML `[[member]]` tables with
    /// id, country or org, agency, role, key).
    New {
        /// The network's name, for people.
        #[arg(long)]
        name: String,
        /// The founding members.
        #[arg(long)]
        members: PathBuf,
        /// Both quorums, as num/den+min: more than num/den of the members,
        /// and at least min (default 1/2+2, a majority of at least 2).
        #[arg(long)]
        threshold: Option<String>,
        /// The quorum to admit a member, if not --threshold.
        #[arg(long)]
        admit: Option<String>,
        /// The quorum to recover, revoke and amend, if not --threshold.
        #[arg(long)]
        recover: Option<String>,
        /// Where to write the draft.
        #[arg(long)]
        out: PathBuf,
        /// Replace the file if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Adds a founder's signature to a draft, in place.
    Sign {
        /// The draft.
        file: PathBuf,
        /// The founder's key file.
        #[arg(long)]
        key: PathBuf,
    },
    /// Seals a draft every founder signed; prints the network id.
    Seal {
        /// The signed draft.
        file: PathBuf,
        /// Where to write the sealed charter.
        #[arg(long)]
        out: PathBuf,
        /// Replace the file if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Shows a draft or sealed charter.
    Show {
        /// The charter file.
        file: PathBuf,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

/// Arguments of `setu members`.
#[derive(Debug, Args)]
pub struct MembersArgs {
    /// Also show every applied operation and each member's keys.
    #[arg(long)]
    pub history: bool,
    /// Instead, list the records this key (hex) signed that this node
    /// holds: what members review before a revocation keeps some of them.
    /// The first column is the record id, for `member revoke --valid-file`.
    #[arg(long, value_name = "KEY")]
    pub signed_by: Option<String>,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// `setu member ...`: each signs one operation with this node's key.
#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// Endorses a new member; it is admitted once a quorum has.
    Endorse {
        /// The new member's id (a-z, 0-9, -).
        #[arg(long)]
        id: String,
        /// Its country, ISO 3166-1 alpha-3.
        #[arg(long)]
        country: Option<String>,
        /// Its organisation, for a member with no country.
        #[arg(long)]
        org: Option<String>,
        /// The agency's name.
        #[arg(long)]
        agency: String,
        /// member or partner.
        #[arg(long, default_value = "member")]
        role: String,
        /// Its publishing key (hex, as `setu keys show` prints it).
        #[arg(long)]
        key: String,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Moves this node's member to a new key (hex); then run the node with
    /// that key's file.
    Rotate {
        /// The new key (hex).
        #[arg(long)]
        to: String,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Ends this node's key from now on.
    Retire {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// With a quorum: moves a member from a lost key to a new one.
    Recover {
        /// The member.
        #[arg(long)]
        member: String,
        /// The lost key (hex).
        #[arg(long)]
        old: String,
        /// The last seq of the lost key that stays valid [default: the
        /// highest seq of its records this node shows now: after a
        /// revocation, of those the revocation kept].
        #[arg(long)]
        last: Option<u64>,
        /// The new key (hex).
        #[arg(long)]
        to: String,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Signs again, against the current epoch, every stale quorum
    /// operation this node's member signed (after a partition heals, or
    /// when other operations applied first).
    Resign {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// With a quorum: ends a key, keeping exactly the listed records.
    Revoke {
        /// The member the key belongs to.
        #[arg(long)]
        member: String,
        /// The key (hex).
        #[arg(long)]
        key: String,
        /// Record ids (hex) of the key that stay valid (repeatable).
        #[arg(long)]
        valid: Vec<String>,
        /// A file of record ids that stay valid: the first word of each
        /// line, blank lines and lines starting with # skipped (the output
        /// of `setu members --signed-by KEY`, edited, fits).
        #[arg(long, value_name = "FILE")]
        valid_file: Option<PathBuf>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Gives a sub-key (hex) the right to publish practices whose id starts
    /// with a prefix.
    Delegate {
        /// The delegate key (hex).
        #[arg(long)]
        to: String,
        /// A practice-id prefix (repeatable).
        #[arg(long, required = true)]
        scope: Vec<String>,
        /// Records dated at or after this (ms since 1970) are out of scope.
        #[arg(long)]
        expires: Option<u64>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Ends a delegation: the delegate's records above `--last` are invalid.
    Undelegate {
        /// The delegate key (hex).
        #[arg(long)]
        key: String,
        /// Its last seq that stays valid.
        #[arg(long)]
        last: u64,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// With a quorum: changes the thresholds, or removes a member.
    Amend {
        /// A new admission quorum, num/den+min.
        #[arg(long)]
        admit: Option<String>,
        /// A new recovery quorum, num/den+min.
        #[arg(long)]
        recover: Option<String>,
        /// A member to remove.
        #[arg(long, requires = "last")]
        remove: Option<String>,
        /// The removed member's last valid seq.
        #[arg(long)]
        last: Option<u64>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}
