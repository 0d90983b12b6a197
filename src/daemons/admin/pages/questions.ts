/** The words of the admin actions: the confirmation each asks, and the notice after it. */

/** What an action is about: a topic, a channel of it, or a node carrying it. */
export interface ActionTarget {
  topic: string;
  channel?: string;
  node?: string;
}

/** The question an action is confirmed with (nsqadmin: "Are you sure you want to <action> <what>?"). */
export function actionQuestion(action: string, t: ActionTarget): string {
  if (action === "tombstone") {
    return `Are you sure you want to tombstone ${t.node} for topic ${t.topic}? nsqlookupd stops listing it and the topic is deleted there.`;
  }
  const verb = action.startsWith("delete") ? "delete" : action;
  const what = t.channel === undefined ? `topic ${t.topic}` : `${t.topic}/${t.channel}`;
  return `Are you sure you want to ${verb} ${what}?`;
}

/** The button text in the confirmation: "Yes, <label>". */
export function actionLabel(action: string): string {
  return action.startsWith("delete") ? "delete" : action;
}

/** The notice after an action went through: "Paused t/ch.". */
export function actionDone(action: string, t: ActionTarget): string {
  const past: Record<string, string> = { pause: "Paused", unpause: "Unpaused", empty: "Emptied", create: "Created", tombstone: "Tombstoned" };
  const verb = action.startsWith("delete") ? "Deleted" : (past[action] ?? action);
  if (action === "tombstone") return `${verb} ${t.node} for topic ${t.topic}.`;
  return `${verb} ${t.channel ? `${t.topic}/${t.channel}` : `topic ${t.topic}`}.`;
}
