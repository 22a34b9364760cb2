//! Attachments of a running node: adding a file and publishing the record
//! that references it, listing references, and fetching content from peers
//! (`spec/attachments.md`, `spec/record.md` §6d).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use setu_blob::content::{Collected, Dir, Status};
use setu_blob::{Hash, blocks};
use setu_core::attachment::{self, Attachment};
use setu_core::ids::{AuthorKey, RecordId};
use setu_store::replica::Published;

use crate::{Error, Node};

/// The largest file a node adds or fetches, by default: 2 GiB
/// ([`Policy::max_bytes`], `network.attachment_max_bytes`).
pub const MAX_ATTACHMENT_BYTES: u64 = 2 << 30;
/// Most references listed in one call.
pub const MAX_LISTED_ATTACHMENTS: usize = 10_000;
/// The folder of a node's content, under its data dir.
pub const CONTENT_DIR: &str = "content";
/// Distinct sizes, from references to one hash, a fetch tries at most.
pub const MAX_SIZES_TRIED: usize = 4;

/// By default a node fetches by itself content of at most 20 MB.
pub const DEFAULT_AUTO_FETCH_BYTES: u64 = 20_000_000;
/// By default a node keeps at most 10 GiB of content it did not pin or
/// publish.
pub const DEFAULT_QUOTA_BYTES: u64 = 10 << 30;
/// How often the node fetches what its policy wants and collects garbage.
pub const POLICY_INTERVAL: Duration = Duration::from_secs(30);
/// How long one automatic fetch is waited for in a round; it goes on
/// from what it verified in the next.
pub const AUTO_FETCH_WAIT: Duration = Duration::from_secs(120);

/// What a node fetches by itself and how much it keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Content up to this size is fetched as soon as its record arrives;
    /// larger content on demand (`setu fetch`, the API, the catalogue).
    pub auto_fetch_bytes: u64,
    /// The largest content this node adds or fetches
    /// ([`MAX_ATTACHMENT_BYTES`] by default).
    pub max_bytes: u64,
    /// Content beyond this total is collected, largest first, unless it is
    /// pinned or the node's own.
    pub quota_bytes: u64,
    /// How often it fetches and collects ([`POLICY_INTERVAL`]).
    pub every: Duration,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            auto_fetch_bytes: DEFAULT_AUTO_FETCH_BYTES,
            max_bytes: MAX_ATTACHMENT_BYTES,
            quota_bytes: DEFAULT_QUOTA_BYTES,
            every: POLICY_INTERVAL,
        }
    }
}

/// One attachment reference and what this node holds of its content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttachmentView {
    /// The record id of its current revision.
    pub record_id: RecordId,
    /// The publisher.
    pub author: AuthorKey,
    /// The reference, as signed.
    pub attachment: Attachment,
    /// `complete`, `partial` or `absent` ("not yet available").
    pub availability: String,
    /// Blocks held, of `blocks`.
    pub blocks_held: u64,
    /// Blocks of the content.
    pub blocks: u64,
    /// A fetch of it runs on this node now.
    #[serde(default)]
    pub fetching: bool,
}

impl AttachmentView {
    /// The content's hash.
    pub fn hash(&self) -> Option<Hash> {
        self.attachment.hash.map(|h| Hash(h.0))
    }
}

/// A media type for a file name's extension, for `attach` when none is
/// given; `application/octet-stream` otherwise.
pub fn media_type_of(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "pdf" => "application/pdf",
        "webm" => "video/webm",
        "mp4" => "video/mp4",
        "ogg" | "oga" => "audio/ogg",
        "mp3" => "audio/mpeg",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "csv" => "text/csv",
        "txt" => "text/plain",
        "json" => "application/json",
        "zip" => "application/zip",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "odt" => "application/vnd.oasis.opendocument.text",
        _ => "application/octet-stream",
    }
}

fn io(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

impl Node {
    /// This node's content folder.
    pub fn content(&self) -> Result<Dir, Error> {
        let p = self.data_dir().join(CONTENT_DIR);
        Dir::open(&p).map_err(|e| io(&p, e))
    }

    /// Adds `file` to this node's content and publishes an `attachment`
    /// record for it. `body` holds the reference's other keys (`practice`
    /// or `adoption`, `title`, `category`, `language`, and optionally
    /// `media_type`, `file_name`, `licence`, `description`,
    /// `attachment_id`); `hash` and `size` come from the file, `media_type`
    /// from its extension and `file_name` from its name when not given, and
    /// `attachment_id` from the hash. `progress` is told the bytes hashed.
    pub async fn attach(
        &self,
        file: &Path,
        body: Json,
        progress: impl FnMut(u64) + Send + 'static,
    ) -> Result<Published, Error> {
        let Json::Object(mut obj) = body else {
            return Err(Error::Publish(setu_store::replica::PublishError::Invalid(
                vec![setu_core::practice::Problem {
                    path: "body".into(),
                    message: "must be a JSON object".into(),
                }],
            )));
        };
        let dir = self.content()?;
        let src = file.to_path_buf();
        let max = self.inner.policy.max_bytes;
        let added = tokio::task::spawn_blocking(move || {
            dir.add_file(&src, max, progress).map_err(|e| io(&src, e))
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))??;
        obj.insert("hash".into(), Json::String(added.hash.to_hex()));
        obj.insert("size".into(), json!(added.size));
        obj.entry("media_type")
            .or_insert_with(|| Json::String(media_type_of(file).into()));
        if let Some(name) = file.file_name().and_then(|n| n.to_str()) {
            obj.entry("file_name")
                .or_insert_with(|| Json::String(name.into()));
        }
        obj.entry("attachment_id")
            .or_insert_with(|| Json::String(format!("ATT-{}", &added.hash.to_hex()[..16])));
        self.publish_kind(attachment::KIND, Json::Object(obj)).await
    }

    /// The current attachment references, of one practice (by
    /// `practice_id`) or of all, at most [`MAX_LISTED_ATTACHMENTS`].
    pub async fn attachments(
        &self,
        practice_id: Option<String>,
    ) -> Result<Vec<AttachmentView>, Error> {
        let found = self
            .on_store(move |r| {
                setu_store::graph::attachments(r.store(), MAX_LISTED_ATTACHMENTS, &|a| {
                    practice_id
                        .as_deref()
                        .is_none_or(|p| a.practice.as_ref().is_some_and(|r| r.practice_id == p))
                })
            })
            .await??;
        let dir = self.content()?;
        let running = self.fetches().await.unwrap_or_default();
        Ok(found.into_iter().map(|a| view(&dir, &running, a)).collect())
    }

    /// The current references to content `hash`, at most `limit`.
    async fn references(
        &self,
        hash: Hash,
        limit: usize,
    ) -> Result<Vec<setu_store::graph::Attached>, Error> {
        self.on_store(move |r| {
            setu_store::graph::attachments(r.store(), limit, &|a| {
                a.hash.is_some_and(|h| h.0 == hash.0)
            })
        })
        .await?
        .map_err(Error::from)
    }

    /// The reference to content `hash`, if this node holds one.
    pub async fn attachment(&self, hash: Hash) -> Result<Option<AttachmentView>, Error> {
        let found = self.references(hash, 1).await?;
        let dir = self.content()?;
        let running = self.fetches().await.unwrap_or_default();
        Ok(found.into_iter().next().map(|a| view(&dir, &running, a)))
    }

    /// Fetches content `hash` from the peers that hold it, resuming what
    /// was verified before, and returns its path once complete. The size
    /// comes from its references; content without one is not fetched.
    ///
    /// Anyone may publish a reference to a hash with a wrong size. So the
    /// distinct sizes the references give are tried in turn (at most
    /// [`MAX_SIZES_TRIED`]): a fetch whose peers all hold the hash with
    /// another size ends at once saying so, and that size is tried next if
    /// a reference gives it. Only the right size can verify.
    pub async fn fetch_attachment(&self, hash: Hash) -> Result<PathBuf, Error> {
        let refused = |reason: String| Error::Io {
            path: PathBuf::from(hash.to_hex()),
            reason,
        };
        let found = self.references(hash, MAX_LISTED_ATTACHMENTS).await?;
        let mut sizes: Vec<u64> = Vec::new();
        for a in &found {
            if let Some(s) = a.attachment.size
                && !sizes.contains(&s)
                && sizes.len() < MAX_SIZES_TRIED
            {
                sizes.push(s);
            }
        }
        let Some(&first) = sizes.first() else {
            return Err(refused("no attachment record names this hash".into()));
        };
        let mut size = first;
        let mut tried = Vec::new();
        loop {
            let max = self.inner.policy.max_bytes;
            if size > max {
                return Err(refused(format!(
                    "{size} bytes, more than this node's limit of {max} (network.attachment_max_bytes)"
                )));
            }
            tried.push(size);
            match self.inner.net.fetch(hash, size).await {
                Ok(()) => break,
                Err(setu_net::Error::OtherSize { held, .. })
                    if sizes.contains(&held) && !tried.contains(&held) =>
                {
                    tracing::info!(%hash, asked = size, held, "attachment: a reference gave a wrong size; trying the size peers hold");
                    size = held;
                }
                Err(e) => return Err(e.into()),
            }
        }
        self.content()?
            .path(&hash)
            .ok_or_else(|| Error::Internal(format!("fetch of {hash} ended without the content")))
    }

    /// Pins content (never collected) or unpins it.
    pub async fn pin(&self, hash: Hash, on: bool) -> Result<(), Error> {
        let dir = self.content()?;
        tokio::task::spawn_blocking(move || dir.pin(&hash, on).map_err(|e| io(dir.root(), e)))
            .await
            .map_err(|e| Error::Internal(e.to_string()))?
    }

    /// Refuses content (a takedown: removed, never stored or served
    /// again; its record stays), or lifts the refusal.
    pub async fn deny(&self, hash: Hash, on: bool) -> Result<(), Error> {
        if on {
            // A fetch under way stops first; its files go with the rest.
            self.inner
                .net
                .stop_fetch(hash, "denied on this node")
                .await?;
        }
        let dir = self.content()?;
        tokio::task::spawn_blocking(move || dir.deny(&hash, on).map_err(|e| io(dir.root(), e)))
            .await
            .map_err(|e| Error::Internal(e.to_string()))??;
        self.content_changed().await;
        Ok(())
    }

    /// Tells the network that the content held changed, so that the
    /// provider records it announces follow (it also reads the folder
    /// again every `setu_net::driver::PROVIDE_CHECK`).
    pub(crate) async fn content_changed(&self) {
        if let Err(e) = self.inner.net.content_changed().await {
            tracing::debug!("attachments: {e}");
        }
    }

    /// Removes content no current record names (unless pinned or this
    /// publisher's own), then the largest other content while over the
    /// quota; content being fetched is kept.
    pub async fn collect_garbage(&self) -> Result<Collected, Error> {
        // Content that arrives while the references are read is judged
        // next time.
        let read_at = std::time::SystemTime::now();
        let all = self.attachments(None).await?;
        if all.len() >= MAX_LISTED_ATTACHMENTS {
            // The list is cut: what it leaves out is not unreferenced.
            tracing::warn!(
                "attachments: more than {MAX_LISTED_ATTACHMENTS} references; collection skipped"
            );
            return Ok(Collected::default());
        }
        let own = self.publisher();
        let referenced: BTreeSet<Hash> = all.iter().filter_map(AttachmentView::hash).collect();
        let mut keep: BTreeSet<Hash> = all
            .iter()
            .filter(|v| Some(v.author) == own)
            .filter_map(AttachmentView::hash)
            .collect();
        for f in self.fetches().await? {
            if let Ok(h) = f.hash.parse() {
                keep.insert(h);
            }
        }
        let dir = self.content()?;
        let quota = self.inner.policy.quota_bytes;
        let collected = tokio::task::spawn_blocking(move || {
            dir.collect(&referenced, &keep, quota, read_at)
                .map_err(|e| io(dir.root(), e))
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))??;
        if !collected.removed.is_empty() {
            self.content_changed().await;
        }
        Ok(collected)
    }

    /// One round of the policy: fetch what is small enough, then collect.
    async fn policy_round(&self) -> Result<(), Error> {
        let dir = self.content()?;
        let denied = dir.denied().unwrap_or_default();
        // What is held, so that automatic fetches stay within the quota
        // (beyond it, collection would remove what was just fetched, and
        // the next round fetch it again).
        let mut held: u64 = {
            let d = dir.clone();
            tokio::task::spawn_blocking(move || d.list().unwrap_or_default())
                .await
                .map_err(|e| Error::Internal(e.to_string()))?
                .iter()
                .map(|(_, s)| s)
                .sum()
        };
        for v in self.attachments(None).await? {
            let Some(hash) = v.hash() else { continue };
            let size = v.attachment.size.unwrap_or(0);
            if v.availability == "complete"
                || size > self.inner.policy.auto_fetch_bytes
                || denied.contains(&hash)
            {
                continue;
            }
            if held.saturating_add(size) > self.inner.policy.quota_bytes {
                tracing::debug!(%hash, size, held, "automatic fetch skipped: over the quota");
                continue;
            }
            match tokio::time::timeout(AUTO_FETCH_WAIT, self.fetch_attachment(hash)).await {
                Ok(Ok(_)) => {
                    held += size;
                    tracing::info!(%hash, size, "attachment fetched by policy")
                }
                Ok(Err(e)) => tracing::debug!(%hash, "automatic fetch: {e}"),
                Err(_) => tracing::debug!(%hash, "automatic fetch goes on next round"),
            }
        }
        let c = self.collect_garbage().await?;
        if !c.removed.is_empty() {
            tracing::info!(
                removed = c.removed.len(),
                freed = c.freed,
                held = c.held,
                "attachments collected"
            );
        }
        Ok(())
    }

    /// Rounds of the attachment policy (automatic fetches, then
    /// collection) completed since the node started.
    pub fn policy_rounds(&self) -> u64 {
        self.inner
            .policy_rounds
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Starts the policy's rounds, every [`POLICY_INTERVAL`], on a task that
    /// holds the node weakly (it ends with the node).
    pub(crate) fn start_policy(&self) {
        let weak = Arc::downgrade(&self.inner);
        let every = self.inner.policy.every.max(Duration::from_millis(100));
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { return };
                let node = Node { inner };
                if let Err(e) = node.policy_round().await {
                    tracing::debug!("attachment policy: {e}");
                }
                node.inner
                    .policy_rounds
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        });
        *self
            .inner
            .policy_task
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(task);
    }

    /// Fetches under way.
    pub async fn fetches(&self) -> Result<Vec<setu_net::driver::FetchProgress>, Error> {
        Ok(self.inner.net.fetches().await?)
    }
}

/// What is held of an attachment: complete, or partial with the blocks
/// its running fetch verified (a partial file with no fetch running shows
/// 0: its blocks are counted again when a fetch resumes it).
fn view(
    dir: &Dir,
    running: &[setu_net::driver::FetchProgress],
    a: setu_store::graph::Attached,
) -> AttachmentView {
    let size = a.attachment.size.unwrap_or(0);
    let count = blocks::count(size);
    let fetch = a.attachment.hash.and_then(|h| {
        let hex = Hash(h.0).to_hex();
        running.iter().find(|f| f.hash == hex)
    });
    let (availability, held) = match a.attachment.hash {
        Some(h) => match dir.status(&Hash(h.0)) {
            Status::Complete(_) => ("complete", count),
            Status::Partial => ("partial", fetch.map_or(0, |f| f.blocks_held)),
            Status::Absent => ("absent", 0),
        },
        None => ("absent", 0),
    };
    AttachmentView {
        record_id: a.id,
        author: a.owner,
        attachment: a.attachment,
        availability: availability.into(),
        blocks_held: held,
        blocks: count,
        fetching: fetch.is_some() && availability != "complete",
    }
}
