/** The chat/echo example: the seed's Socket.IO scenario, on Tether. */
package dev.tether.examples.chat;
