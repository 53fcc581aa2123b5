/**
 * Where a TA's answer goes: the raw platform ids a delivery needs (the student's user id, to
 * mention them or open a DM; the channel or thread, and the answer message to reply to). Raw ids
 * never reach logs, the store or exports, so the address is kept in the case only sealed with
 * AES-256-GCM under a key derived (HKDF-SHA256) from the salt of the pseudonyms
 * (`FeedbackStore.deriveKey`), and wiped once delivered.
 *
 * The additional authenticated data binds a sealed address to its case and requester: an address
 * copied into another record does not open.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { SealedAddress } from '../store/types.js';

export const ADDRESS_KEY_PURPOSE = 'delivery-address v1';

export interface DeliveryAddress {
  platform: 'discord' | 'slack';
  /** Raw platform user id of who asked for help. */
  userId: string;
  /** Channel or thread where the question was answered (Discord), or null (Slack: a DM). */
  channelId: string | null;
  /** The bot's answer message, to reply to; null when unknown. */
  messageId: string | null;
  guildId: string | null;
  /** The answer was private (DISCORD_EPHEMERAL): deliver by DM. */
  ephemeral: boolean;
}

/** The address could not be opened (tampered with, another key, another case). */
export class AddressUnreadableError extends Error {
  constructor(reason: string) {
    super(`delivery address unreadable: ${reason}`);
    this.name = 'AddressUnreadableError';
  }
}

const aad = (caseId: string, requester: string) => Buffer.from(`pergunta:${caseId}:${requester}`, 'utf8');

export function sealAddress(address: DeliveryAddress, key: Buffer, caseId: string, requester: string): SealedAddress {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad(caseId, requester));
  const data = Buffer.concat([cipher.update(JSON.stringify(address), 'utf8'), cipher.final()]);
  return { v: 1, iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') };
}

export function openAddress(sealed: SealedAddress, key: Buffer, caseId: string, requester: string): DeliveryAddress {
  if (sealed?.v !== 1) throw new AddressUnreadableError('unknown format');
  let text: string;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'));
    decipher.setAAD(aad(caseId, requester));
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
    text = Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]).toString('utf8');
  } catch (err) {
    throw new AddressUnreadableError((err as Error).message);
  }
  const value = JSON.parse(text) as Partial<DeliveryAddress>;
  if ((value.platform !== 'discord' && value.platform !== 'slack') || typeof value.userId !== 'string') {
    throw new AddressUnreadableError('unexpected content');
  }
  return {
    platform: value.platform,
    userId: value.userId,
    channelId: typeof value.channelId === 'string' ? value.channelId : null,
    messageId: typeof value.messageId === 'string' ? value.messageId : null,
    guildId: typeof value.guildId === 'string' ? value.guildId : null,
    ephemeral: value.ephemeral === true,
  };
}
