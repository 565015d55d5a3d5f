import type { AttemptTimeline, Explanation, GitLabComparison } from "./timeline.ts";

/** `tekton-lineage explain` for people: one block per lineage, its attempts as a timeline, then GitLab. */
export function renderText(explanations: readonly Explanation[]): string {
  if (explanations.length === 0) return "no lineage found\n";
  return explanations.map(renderLineage).join("\n");
}

function renderLineage(e: Explanation): string {
  const about = [
    e.lineage.pipeline && `pipeline ${e.lineage.pipeline}`,
    e.lineage.commit && `commit ${e.lineage.commit}`,
  ]
    .filter(Boolean)
    .join(", ");
  const lines = [`lineage ${e.lineage.key}${about ? ` (${about})` : ""}`];
  for (const attempt of e.attempts) lines.push(...renderAttempt(attempt));
  lines.push(...renderGitLab(e.gitlab));
  for (const note of e.notes ?? []) lines.push(`  note: ${note}`);
  return `${lines.join("\n")}\n`;
}

function renderAttempt(a: AttemptTimeline): string[] {
  const head = `  attempt ${a.attempt}  ${a.name}${a.latest ? "  <- GitLab follows this attempt" : ""}`;
  const lines = [head];
  const at = (label: string, when: string | undefined, detail = "") => {
    if (when) lines.push(`    ${when}  ${label}${detail ? `: ${detail}` : ""}`);
  };
  at("admitted", a.admittedAt, a.supersedes ? `supersedes ${a.supersedes}` : "");
  if (a.createdAt) at("created", a.createdAt);
  else lines.push(`    never created: ${a.notCreated ?? "unknown"}`);
  if (a.queue)
    at(`queued in ${a.queue.key}`, a.queue.enqueuedAt, a.queue.ticket ? `ticket ${a.queue.ticket}` : "");
  if (a.queue?.decision) lines.push(`    queue: ${a.queue.decision}`);
  at("started", a.startedAt);
  at("finished", a.finishedAt);
  if (a.createdAt && a.state) lines.push(`    now: ${a.state}`);
  for (const event of a.events)
    lines.push(`    ${event.at}  event ${event.reason}${event.by ? ` (${event.by})` : ""}: ${event.message}`);
  return lines;
}

function renderGitLab(g: GitLabComparison): string[] {
  if (g.notReported) return [`  GitLab: not reported: ${g.notReported}`];
  const lines: string[] = [];
  if (g.target)
    lines.push(
      `  GitLab "${g.target.context}" on ${g.target.sha.slice(0, 12)} (${g.target.host}, project ${g.target.projects.join(" or ")})`,
    );
  if (g.should)
    lines.push(`    should show: ${g.should.state} "${g.should.description}"${link(g.should.targetUrl)}`);
  if (g.shows)
    lines.push(
      `    shows now:   ${g.shows.state} "${g.shows.description}"${link(g.shows.targetUrl)} (job ${g.shows.job}${g.shows.author ? ` by ${g.shows.author}` : ""})`,
    );
  else if (g.showsError) lines.push(`    shows now:   ? (${g.showsError})`);
  if (g.agrees !== undefined)
    lines.push(
      g.agrees
        ? "    = GitLab shows what it should"
        : "    ! GitLab differs: tekton-lineage's reporter sets it right (or is being refused: see its Events)",
    );
  return lines;
}

const link = (url: string) => (url ? ` -> ${url}` : " (no link)");
