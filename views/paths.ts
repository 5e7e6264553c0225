/** Where things are on the page: a channel's path, and the link to one message in it. */
export const channelPath = (c: { owner: string; name: string }) => `/c/${encodeURIComponent(c.owner)}/${encodeURIComponent(c.name)}`;

/** A link to one message: its channel's page opens the messages around it, however far back it is. */
export const messageLink = (m: { id: string; repository: string }) => {
  const [owner = "", name = ""] = m.repository.split("/");
  return `${channelPath({ owner, name })}#m-${m.id}`;
};
