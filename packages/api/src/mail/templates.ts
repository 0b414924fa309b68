// The mails Roster sends: a plain-text part and an HTML part each, every
// interpolated value escaped in the HTML, no images, no tracking.

/** Escapes text for HTML element content and double-quoted attributes. */
export function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

export type RenderedMail = { subject: string; text: string; html: string };

/** A date and time people read the same way wherever they are: UTC, to the minute. */
export const formatExpiry = (date: Date) => `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

type Paragraph = string | { link: string; label: string };

/** Both parts from one list of paragraphs, so they always say the same. */
function render(subject: string, paragraphs: Paragraph[]): RenderedMail {
  const text = paragraphs.map((p) => (typeof p === 'string' ? p : `${p.label}:\n${p.link}`)).join('\n\n');
  const body = paragraphs
    .map((p) =>
      typeof p === 'string'
        ? `<p>${escapeHtml(p)}</p>`
        : `<p><a href="${escapeHtml(p.link)}">${escapeHtml(p.label)}</a></p>\n<p>${escapeHtml(p.link)}</p>`,
    )
    .join('\n');
  const html = `<!doctype html>\n<html><head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head>\n<body>\n${body}\n</body></html>\n`;
  return { subject, text: `${text}\n`, html };
}

export type InvitationMail = {
  organization: string;
  inviter: string;
  invitee: string;
  email: string;
  link: string;
  expiresAt: Date;
};

export function invitationMail(m: InvitationMail): RenderedMail {
  return render(`You are invited to ${m.organization} on Roster`, [
    `Hello ${m.invitee},`,
    `${m.inviter} invited you to ${m.organization} on Roster, as ${m.email}. Choose your password to sign in:`,
    { label: 'Choose your password', link: m.link },
    `This link works once, until ${formatExpiry(m.expiresAt)}. If you did not expect this invitation, ignore this mail.`,
  ]);
}

export type ResetMail = { organization: string; name: string; email: string; link: string; expiresAt: Date };

export function passwordResetMail(m: ResetMail): RenderedMail {
  return render(`Reset your ${m.organization} password on Roster`, [
    `Hello ${m.name},`,
    `Someone (we hope you) asked to reset the password of ${m.email} at ${m.organization} on Roster.`,
    { label: 'Choose a new password', link: m.link },
    `This link works once, until ${formatExpiry(m.expiresAt)}; using it signs you out everywhere. If you did not ask, ignore this mail: your password stays as it is.`,
  ]);
}

export type EmailChangedMail = { organization: string; changedBy: string; name: string; from: string; to: string };

/** To the old address: the account no longer answers to it. */
export function emailChangedOldMail(m: EmailChangedMail): RenderedMail {
  return render(`Your ${m.organization} sign-in email was changed`, [
    `Hello ${m.name},`,
    `${m.changedBy} changed the email you sign in to ${m.organization} on Roster with, from ${m.from} to ${m.to}. From now on you sign in with ${m.to}.`,
    'If you did not expect this, contact your administrator.',
  ]);
}

/** To the new address: this is now how the person signs in. */
export function emailChangedNewMail(m: EmailChangedMail): RenderedMail {
  return render(`You now sign in to ${m.organization} as ${m.to}`, [
    `Hello ${m.name},`,
    `${m.changedBy} changed the email you sign in to ${m.organization} on Roster with, from ${m.from} to ${m.to}. Your password stays the same.`,
    'If you did not expect this, contact your administrator.',
  ]);
}

/**
 * What a queued mail says, stored with it (mail_outbox.params) and rendered
 * when it is sent; dates as ISO text. The link is stored apart (it holds a token).
 */
export type MailParams =
  | { kind: 'invitation'; organization: string; inviter: string; invitee: string; email: string; expiresAt: string }
  | { kind: 'password_reset'; organization: string; name: string; email: string; expiresAt: string }
  | ({ kind: 'email_changed_old' | 'email_changed_new' } & EmailChangedMail);

/** A queued mail's parts, from its params and its link. */
export function renderMail(params: MailParams, link: string | null): RenderedMail {
  const url = link ?? '[link removed once sent]';
  switch (params.kind) {
    case 'invitation':
      return invitationMail({ ...params, link: url, expiresAt: new Date(params.expiresAt) });
    case 'password_reset':
      return passwordResetMail({ ...params, link: url, expiresAt: new Date(params.expiresAt) });
    case 'email_changed_old':
      return emailChangedOldMail(params);
    case 'email_changed_new':
      return emailChangedNewMail(params);
  }
}
