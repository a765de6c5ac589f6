/** What a reinstall did on the app's side, reported back by `POST /sandbox/reset`. */
export type AppReinstall = Record<string, unknown>;

export type InstallChange = { kind: 'uninstalled'; teamId: string } | { kind: 'reinstalled'; teamId: string };

/**
 * Which sandbox teams have the app installed. Sending `app.uninstalled` uninstalls it (the app
 * erases the team and ignores it from then on); `POST /sandbox/reset` installs it again. The
 * app's side of a reinstall is wired in by the composition root (`appSide`), since the
 * simulator, being ClickDesk, cannot reach into the app.
 */
export class TeamInstalls {
  private readonly uninstalledAt = new Map<string, number>();
  private readonly listeners = new Set<(change: InstallChange) => void>();
  /** Resets so far: a visitor page whose chat was wiped by one starts a new chat. */
  resets = 0;
  /** The app's side of a reinstall: erase the team through its lifecycle jobs, then accept it again. */
  appSide: ((teamId: string) => Promise<AppReinstall>) | undefined;

  isInstalled(teamId: string): boolean {
    return !this.uninstalledAt.has(teamId);
  }

  /** When the team uninstalled the app (ms), if it did. */
  uninstalledSince(teamId: string): number | undefined {
    return this.uninstalledAt.get(teamId);
  }

  markUninstalled(teamId: string, at = Date.now()): void {
    if (this.uninstalledAt.has(teamId)) return;
    this.uninstalledAt.set(teamId, at);
    this.emit({ kind: 'uninstalled', teamId });
  }

  markInstalled(teamId: string): void {
    this.uninstalledAt.delete(teamId);
    this.resets += 1;
    this.emit({ kind: 'reinstalled', teamId });
  }

  onChange(listener: (change: InstallChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(change: InstallChange): void {
    for (const listener of this.listeners) listener(change);
  }
}
